package ledger_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

func testAlliance(t *testing.T) *ledgertest.Alliance {
	t.Helper()
	a, err := ledgertest.NewAlliance(rand.Reader, chainID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseGenesisStateRoundTrip(t *testing.T) {
	a := testAlliance(t)
	a.Genesis.State.Members[0].Peer = "12D3KooWExamplePeerA"
	a.Genesis.State.Members[0].Addrs = []string{"/ip4/10.0.0.1/tcp/26660", "/dns4/bank-a.example/tcp/26660"}
	raw, err := json.Marshal(a.Genesis.State)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"time_window":"15m0s"`)) || !bytes.Contains(raw, []byte(`"role":"regulator"`)) {
		t.Fatalf("app_state JSON lacks the duration or role text: %s", raw)
	}
	gs, err := ledger.ParseGenesisState(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*gs, a.Genesis.State) {
		t.Fatalf("ParseGenesisState(Marshal(s)) = %+v, want %+v", *gs, a.Genesis.State)
	}
	if int64(gs.Params.TimeWindow) != ledger.DefaultTimeWindow || gs.Params.MaxBatchRecords != ledger.DefaultMaxBatchRecords || gs.Params.MaxTxBytes != ledger.DefaultMaxTxBytes {
		t.Fatalf("params = %+v, want the defaults", gs.Params)
	}
}

// TestParseGenesisStateRejects: a roster that is not exactly right is
// refused, with an error naming what is wrong.
func TestParseGenesisStateRejects(t *testing.T) {
	a := testAlliance(t)
	good, err := json.Marshal(a.Genesis.State)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.ParseGenesisState(good); err != nil {
		t.Fatalf("the test alliance's roster is refused: %v", err)
	}
	other := testAlliance(t).Genesis.State.Members[0]
	// Indexes into the test roster: bank-a, bank-b, notary, arbitration, court, regulator.
	const bankA, bankB, court, regulator = 0, 1, 4, 5
	edited := func(edit func(ms []ledger.GenesisMember) []ledger.GenesisMember) []byte {
		gs := a.Genesis.State
		gs.Members = edit(append([]ledger.GenesisMember(nil), gs.Members...))
		b, err := json.Marshal(gs)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	text := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("roster JSON lacks %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name string
		json []byte
		want string
	}{
		{"not JSON", []byte("["), "genesis app_state"},
		{"unknown field", text(`"members":`, `"member":[],"members":`), `unknown field "member"`},
		{"unknown member field", text(`"power":`, `"weight":1,"power":`), `unknown field "weight"`},
		{"trailing object", append(bytes.Clone(good), "{}"...), "trailing data"},
		{"duration as a number", text(`"15m0s"`, `900`), "duration must be a string"},
		{"duration without a unit", text(`"15m0s"`, `"15"`), `duration "15"`},
		{"unknown role", text(`"role":"court"`, `"role":"judge"`), `unknown role "judge"`},
		{"no members", []byte(`{"params":{"time_window":"15m"},"members":[]}`), "the roster has no members"},
		{"no members at all", []byte(`{}`), "the roster has no members"},
		{"same name twice", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[bankB].Name = "bank-a"
			return ms
		}), `name "bank-a" appears twice`},
		{"one key for two members", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[bankB].Keys = []string{ms[bankB].Keys[0], ms[bankA].Keys[0]}
			return ms
		}), "is also a key of bank-a"},
		{"one key twice in a member", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[bankB].Keys = []string{ms[bankB].Keys[0], other.Keys[0], other.Keys[0]}
			return ms
		}), "is also a key of bank-b"},
		{"key not hex", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].Keys = []string{"04zz"}
			return ms
		}), "(court) key 0"},
		{"key not on the curve", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].Keys = []string{"04" + strings.Repeat("00", 64)}
			return ms
		}), "(court) key 0"},
		{"no keys", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].Keys = nil
			return ms
		}), "member court: needs 1 to 16 keys, has 0"},
		{"name not an identifier", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].Name = "Court"
			return ms
		}), `member name "Court"`},
		{"regulator with power", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[regulator].Power, ms[regulator].Validator = 10, ms[court].Validator
			return ms
		}), "a regulator has no voting power"},
		{"one peer for two members", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[bankA].Peer, ms[court].Peer = "12D3KooWSame", "12D3KooWSame"
			return ms
		}), "member court has the peer id of bank-a"},
		{"one validator for two members", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].Validator = ms[bankA].Validator
			return ms
		}), "member court has the validator key of bank-a"},
		{"one validator for two members, in another case", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].Validator = strings.ToUpper(ms[bankA].Validator)
			return ms
		}), "member court has the validator key of bank-a"},
		{"validator of 31 bytes", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].Validator = ms[court].Validator[2:]
			return ms
		}), "member court has voting power but its validator"},
		{"member without a node id", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[regulator].NodeID = ""
			return ms
		}), "genesis member regulator: no node_id: every member runs a node"},
		{"node id not hex", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].NodeID = "court@127.0.0.1:26656"
			return ms
		}), `genesis member court: node id "court@127.0.0.1:26656" is not 40 hex digits`},
		{"node id of 19 bytes", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].NodeID = ms[court].NodeID[2:]
			return ms
		}), "genesis member court: node id"},
		{"one node for two members", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[regulator].NodeID = ms[bankA].NodeID
			return ms
		}), "member regulator has the node id of bank-a"},
		{"one node for two members, in another case", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[court].NodeID = strings.ToUpper(ms[bankB].NodeID)
			return ms
		}), "member court has the node id of bank-b"},
		{"no voting power", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			for i := range ms {
				ms[i].Power, ms[i].Validator = 0, ""
			}
			return ms
		}), "no member has voting power"},
		{"power overflows", edited(func(ms []ledger.GenesisMember) []ledger.GenesisMember {
			ms[bankA].Power, ms[bankB].Power = math.MaxUint64/2+1, math.MaxUint64/2+1
			return ms
		}), "voting power overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ledger.ParseGenesisState(tt.json)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseGenesisState = %v, want an error saying %q", err, tt.want)
			}
			if noNode := strings.Contains(tt.want, "no node_id"); errors.Is(err, ledger.ErrNoNodeID) != noNode {
				t.Fatalf("errors.Is(%v, ErrNoNodeID) = %v, want %v", err, !noNode, noNode)
			}
		})
	}
}

// TestInitChainChecksGenesis: InitChain refuses parameters out of range
// and consensus validators that are not the roster's voting members, and
// stores nothing then.
func TestInitChainChecksGenesis(t *testing.T) {
	a := testAlliance(t)
	upper := func(g *ledger.Genesis) {
		for i := range g.State.Members {
			g.State.Members[i].Validator = strings.ToUpper(g.State.Members[i].Validator)
		}
	}
	tests := []struct {
		name string
		edit func(g *ledger.Genesis)
		want string // "" when accepted
	}{
		{"the test alliance", func(*ledger.Genesis) {}, ""},
		{"no validators to check", func(g *ledger.Genesis) { g.Validators = nil }, ""},
		{"validator keys in upper case", upper, ""},
		{"court runs bank-a's validator, in upper case", func(g *ledger.Genesis) {
			court := slices.IndexFunc(g.State.Members, func(m ledger.GenesisMember) bool { return m.Name == "court" })
			g.State.Members[court].Validator = strings.ToUpper(g.State.Members[0].Validator)
			g.Validators = slices.DeleteFunc(slices.Clone(g.Validators), func(v ledger.ConsensusValidator) bool {
				return bytes.Equal(v.PubKey, hexBytes(t, a.Genesis.State.Members[court].Validator))
			})
		}, "member court has the validator key of bank-a"},
		{"empty validator set", func(g *ledger.Genesis) { g.Validators = []ledger.ConsensusValidator{} }, "is not in the genesis validator set"},
		{"zero time window", func(g *ledger.Genesis) { g.State.Params.TimeWindow = 0 }, "genesis params: time_window must be positive"},
		{"negative time window", func(g *ledger.Genesis) { g.State.Params.TimeWindow = -1 }, "genesis params: time_window must be positive"},
		{"no records per batch", func(g *ledger.Genesis) { g.State.Params.MaxBatchRecords = 0 }, "genesis params: max_batch_records must be 1..10000, got 0"},
		{"more records per batch than the format holds", func(g *ledger.Genesis) { g.State.Params.MaxBatchRecords = ledger.MaxBatchRecords + 1 }, "max_batch_records must be 1..10000, got 10001"},
		{"transactions under 1 KiB", func(g *ledger.Genesis) { g.State.Params.MaxTxBytes = 1023 }, "genesis params: max_tx_bytes must be at least 1024, got 1023"},
		{"empty chain id", func(g *ledger.Genesis) { g.ChainID = "" }, "genesis params: malformed"},
		{"chain id with a space", func(g *ledger.Genesis) { g.ChainID = "evidenced test" }, `chain id "evidenced test"`},
		{"roster without members", func(g *ledger.Genesis) { g.State.Members = nil }, "the roster has no members"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := *a.Genesis
			g.State.Members = append([]ledger.GenesisMember(nil), g.State.Members...)
			tt.edit(&g)
			st := ledgertest.NewMemStore()
			out, err := ledger.New(ledger.Options{}).InitChain(st, &g)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("InitChain: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("InitChain = %v, want an error saying %q", err, tt.want)
			}
			if out != nil || st.Len() != 0 {
				t.Fatalf("a refused genesis left an outcome or %d keys", st.Len())
			}
		})
	}
}

// TestParamsFromGenesis: the parameters a chain runs on are the genesis
// ones, with the chain id and time of the consensus genesis.
func TestParamsFromGenesis(t *testing.T) {
	a := testAlliance(t)
	g := *a.Genesis
	g.ChainID, g.Time = "Alliance:2026.1", ledgertest.GenesisTime+7
	g.Validators = nil
	g.State.Params = ledger.GenesisParams{TimeWindow: ledger.Duration(90 * time.Second), MaxBatchRecords: 10, MaxTxBytes: 4096}
	st := ledgertest.NewMemStore()
	if _, err := ledger.NewView(st).Params(); !errors.Is(err, ledger.ErrNotInitialized) {
		t.Fatalf("Params of an empty store = %v, want ErrNotInitialized", err)
	}
	out, err := ledger.New(ledger.Options{}).InitChain(st, &g)
	if err != nil {
		t.Fatal(err)
	}
	st.Commit(out.Changes)
	p, err := ledger.NewView(st).Params()
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Params{ChainID: "Alliance:2026.1", GenesisTime: ledgertest.GenesisTime + 7, TimeWindow: int64(90 * time.Second), MaxBatchRecords: 10, MaxTxBytes: 4096}
	if *p != want {
		t.Fatalf("Params = %+v, want %+v", *p, want)
	}
	// The chain runs on them: a batch of 11 records is too large, and a
	// client time 91s from block time is outside the window.
	a.ChainID = g.ChainID
	recs := make([]ledger.Record, 11)
	for i := range recs {
		recs[i] = rec(fmt.Sprint("P-", i), 1, crypto.Hash{}, fmt.Sprint(i))
	}
	l := ledger.New(ledger.Options{})
	for _, tc := range []struct {
		tx   []byte
		now  int64
		want ledger.Code
	}{
		{a.Batch(a.Key("bank-a"), g.Time, recs), g.Time, ledger.CodeBatchTooLarge},
		{a.Batch(a.Key("bank-a"), g.Time, recs[:10]), g.Time + int64(91*time.Second), ledger.CodeTimeWindow},
		{a.Batch(a.Key("bank-a"), g.Time, recs[:10]), g.Time + int64(90*time.Second), ledger.CodeOK},
	} {
		res, err := l.Check(st, tc.tx, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, res, tc.want)
	}
}

func TestDurationJSON(t *testing.T) {
	for _, tt := range []struct {
		d    ledger.Duration
		json string
	}{
		{ledger.Duration(15 * time.Minute), `"15m0s"`},
		{ledger.Duration(1500 * time.Millisecond), `"1.5s"`},
		{0, `"0s"`},
	} {
		b, err := json.Marshal(tt.d)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%d) = %s, %v; want %s", tt.d, b, err, tt.json)
		}
		var d ledger.Duration
		if err := json.Unmarshal(b, &d); err != nil || d != tt.d {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", b, d, err, tt.d)
		}
	}
	for _, bad := range []string{`900`, `"15 minutes"`, `null`, `"1x"`, `""`} {
		var d ledger.Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s) succeeded: %d", bad, d)
		}
	}
}
