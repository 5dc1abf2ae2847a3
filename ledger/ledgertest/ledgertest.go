// Package ledgertest provides fixtures for testing code built on package
// ledger: an in-memory Reader, a ready-made alliance with keys for every
// role, and builders for signed transactions. It does no I/O.
package ledgertest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// MemStore is an in-memory ledger.Reader that applies change sets.
type MemStore struct {
	m map[string][]byte
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

// Get implements ledger.Reader.
func (s *MemStore) Get(key []byte) ([]byte, bool, error) {
	v, ok := s.m[string(key)]
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(v), true, nil
}

// Scan implements ledger.Reader.
func (s *MemStore) Scan(prefix, start []byte, limit int) ([]ledger.KV, error) {
	var keys []string
	for k := range s.m {
		if strings.HasPrefix(k, string(prefix)) && k >= string(start) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]ledger.KV, len(keys))
	for i, k := range keys {
		out[i] = ledger.KV{Key: []byte(k), Value: bytes.Clone(s.m[k])}
	}
	return out, nil
}

// Commit applies a change set.
func (s *MemStore) Commit(changes []ledger.KV) {
	for _, kv := range changes {
		if kv.Delete {
			delete(s.m, string(kv.Key))
			continue
		}
		s.m[string(kv.Key)] = bytes.Clone(kv.Value)
	}
}

// Len returns the number of keys stored.
func (s *MemStore) Len() int { return len(s.m) }

// Party is a member of a test alliance with its private key.
type Party struct {
	Name string
	Role ledger.Role
	Key  *crypto.PrivateKey
	Node ledger.NodeID // a stand-in consensus node id (no engine runs here)
}

// Alliance is a test alliance: two banks, a notary, an arbitration centre, a
// court and a regulator, plus an outsider key that is not registered.
type Alliance struct {
	ChainID  string
	Genesis  *ledger.Genesis
	Parties  map[string]*Party
	Outsider *crypto.PrivateKey
	// Validators are the consensus validators matching the roster, as a
	// consensus engine would pass them to InitChain (Genesis.Validators).
	Validators []ledger.ConsensusValidator
	rand       io.Reader
}

// GenesisTime is the genesis time of every test alliance.
var GenesisTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// NewAlliance makes an alliance whose keys are drawn from rand.
func NewAlliance(rand io.Reader, chainID string) (*Alliance, error) {
	a := &Alliance{ChainID: chainID, Parties: map[string]*Party{}, rand: rand}
	gs := ledger.GenesisState{Params: ledger.DefaultGenesisParams()}
	for _, p := range []struct {
		name  string
		role  ledger.Role
		power uint64
	}{
		{"bank-a", ledger.RoleBank, 10},
		{"bank-b", ledger.RoleBank, 10},
		{"notary", ledger.RoleNotary, 10},
		{"arbitration", ledger.RoleArbitration, 10},
		{"court", ledger.RoleCourt, 10},
		{"regulator", ledger.RoleRegulator, 0},
	} {
		k, err := crypto.GenerateKey(rand)
		if err != nil {
			return nil, err
		}
		party := &Party{Name: p.name, Role: p.role, Key: k}
		node := crypto.SM3([]byte("ledgertest/node/" + p.name))
		copy(party.Node[:], node[:])
		a.Parties[p.name] = party
		gm := ledger.GenesisMember{
			Name: p.name, Role: p.role, Power: p.power,
			Keys:   []string{fmt.Sprintf("%x", k.Public().Bytes())},
			NodeID: party.Node.String(),
		}
		if p.power > 0 {
			// A stand-in consensus key, unique per member (no engine runs here).
			vk := crypto.SM3([]byte("ledgertest/validator/" + p.name))
			gm.Validator = fmt.Sprintf("%x", vk[:])
			a.Validators = append(a.Validators, ledger.ConsensusValidator{PubKey: vk[:], Power: p.power})
		}
		gs.Members = append(gs.Members, gm)
	}
	out, err := crypto.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	a.Outsider = out
	a.Genesis = &ledger.Genesis{ChainID: chainID, Time: GenesisTime, State: gs, Validators: a.Validators}
	return a, nil
}

// Key returns the private key of the named party; it panics on a name the
// alliance does not have (a bug in the test).
func (a *Alliance) Key(name string) *crypto.PrivateKey {
	p, ok := a.Parties[name]
	if !ok {
		panic("ledgertest: no party " + name)
	}
	return p.Key
}

// Commitment returns a commitment derived from s (for tests only; real
// commitments are SM3(salt ‖ original) with a random salt).
func Commitment(s string) crypto.Hash { return crypto.SM3([]byte("test-commitment/"), []byte(s)) }

// Evidence builds a signed single-record evidence transaction.
func (a *Alliance) Evidence(key *crypto.PrivateKey, t int64, rec ledger.Record) []byte {
	return a.Sign(key, &ledger.Body{ChainID: a.ChainID, Time: t, Payload: &ledger.Evidence{Record: rec}})
}

// Batch builds a signed batch transaction.
func (a *Alliance) Batch(key *crypto.PrivateKey, t int64, recs []ledger.Record) []byte {
	return a.Sign(key, &ledger.Body{ChainID: a.ChainID, Time: t, Payload: &ledger.Batch{Records: recs}})
}

// Attest builds a signed attestation transaction.
func (a *Alliance) Attest(key *crypto.PrivateKey, t int64, statement string, targets ...ledger.RecordRef) []byte {
	return a.Sign(key, &ledger.Body{ChainID: a.ChainID, Time: t,
		Payload: &ledger.Attestation{Statement: statement, Targets: targets}})
}

// OverclaimingBundle returns a bundle of ledger.MaxBundleTxs batch
// transactions of chain chainID by signer at time t, each of whose bodies
// claims ledger.MaxBatchRecords records and holds none (a 1-byte stand-in
// signature follows): 348,163 bytes that a decoder allocating what the
// counts claim before checking the bytes would turn into gigabytes. Every
// inner transaction is malformed.
func OverclaimingBundle(chainID string, signer crypto.KeyID, t int64) []byte {
	inner := make([][]byte, ledger.MaxBundleTxs)
	for i := range inner {
		body := []byte{byte(len(ledger.TxDomain))}
		body = append(body, ledger.TxDomain...)
		body = append(body, byte(len(chainID)))
		body = append(body, chainID...)
		body = append(body, byte(ledger.TxBatch))
		body = append(body, signer[:]...)
		body = binary.BigEndian.AppendUint64(body, uint64(t+int64(i))) // each its own tx id
		body = binary.BigEndian.AppendUint16(body, ledger.MaxBatchRecords)
		tx := []byte{ledger.TxFormat}
		tx = binary.BigEndian.AppendUint32(tx, uint32(len(body)))
		tx = append(tx, body...)
		inner[i] = append(tx, 1, 0x30) // u8-prefixed signature: one byte
	}
	b, err := ledger.EncodeBundle(inner)
	if err != nil {
		panic("ledgertest: encode bundle: " + err.Error())
	}
	return b
}

// Sign encodes and signs b with key; it panics if b is invalid (a bug in the test).
func (a *Alliance) Sign(key *crypto.PrivateKey, b *ledger.Body) []byte {
	tx, err := ledger.SignTx(key, a.rand, b)
	if err != nil {
		panic("ledgertest: sign: " + err.Error())
	}
	return tx
}

// ExampleEntry returns the bytes of a log entry at height 7 holding a
// transaction of type info with its registry example payload (Example),
// signed by signer's key id with a stand-in signature: what the tests that
// walk the registry show, in every place that shows entries.
func ExampleEntry(info *ledger.TxTypeInfo, signer crypto.KeyID) []byte {
	b := &ledger.Body{ChainID: "evidenced-example", Signer: signer, Time: GenesisTime + 7e9, Payload: info.Example()}
	if info.Origin == ledger.OriginGenesis {
		b.Signer = crypto.KeyID{}
	}
	body, err := ledger.EncodeBody(b)
	if err != nil {
		panic("ledgertest: example of " + info.Name + ": " + err.Error())
	}
	tx, err := ledger.EncodeTx(body, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	if err != nil {
		panic("ledgertest: example of " + info.Name + ": " + err.Error())
	}
	return (&ledger.Entry{Height: 7, Time: GenesisTime + 7e9, TxBytes: tx}).Encode()
}

// SignWithText signs b as Sign does, but with text in place of the bytes of
// the field value placeholder (same length), which b carries once: a
// transaction whose free text the encoder refuses (invalid UTF-8, control
// characters), for tests of the ledger's refusals. It panics on misuse.
func (a *Alliance) SignWithText(key *crypto.PrivateKey, b *ledger.Body, placeholder, text string) []byte {
	if len(placeholder) != len(text) || placeholder == "" {
		panic("ledgertest: SignWithText: the placeholder must be as long as the text")
	}
	b.Signer = key.Public().ID()
	body, err := ledger.EncodeBody(b)
	if err != nil {
		panic("ledgertest: sign: " + err.Error())
	}
	if bytes.Count(body, []byte(placeholder)) != 1 {
		panic("ledgertest: SignWithText: the placeholder is not in the body exactly once")
	}
	body = bytes.Replace(body, []byte(placeholder), []byte(text), 1)
	sig, err := key.Sign(a.rand, body)
	if err != nil {
		panic("ledgertest: sign: " + err.Error())
	}
	tx, err := ledger.EncodeTx(body, sig)
	if err != nil {
		panic("ledgertest: sign: " + err.Error())
	}
	return tx
}
