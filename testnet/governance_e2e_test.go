package testnet_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/testutil"
	"github.com/evidenced/evidenced/keyfile"
	"github.com/evidenced/evidenced/testnet"
)

// The governance end-to-end test: a 4-member alliance under a light stream
// of submissions takes in a fifth member by proposal and votes (its node
// joins by state sync), rotates the notary's member key and removes
// arbitration, all through the CLI; receipts from before and after verify
// offline against the genesis roster.

// seatFile is the seat file `evidenced join` and `evidenced keys rotate`
// write.
type seatFile struct {
	Name      string   `json:"name"`
	Keys      []string `json:"keys"`
	Validator string   `json:"validator"`
	Node      string   `json:"node"`
	Peer      string   `json:"peer"`
}

func readSeat(t *testing.T, path string) seatFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s seatFile
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(s.Validator) != 64 || len(s.Node) != 40 || len(s.Keys) == 0 {
		t.Fatalf("%s: incomplete seat %+v", path, s)
	}
	return s
}

// validators returns the hex Ed25519 keys of the validators of the latest
// block as p's CometBFT RPC reports them, and their total power.
func validators(p *proc) ([]string, int64, error) {
	var r struct {
		Validators []struct {
			PubKey struct {
				Value string `json:"value"`
			} `json:"pub_key"`
			VotingPower string `json:"voting_power"`
		} `json:"validators"`
	}
	if err := rpcGet(p.m.RPC, "/validators?per_page=100", &r); err != nil {
		return nil, 0, err
	}
	var keys []string
	var total int64
	for _, v := range r.Validators {
		b, err := base64.StdEncoding.DecodeString(v.PubKey.Value)
		if err != nil {
			return nil, 0, err
		}
		keys = append(keys, hex.EncodeToString(b))
		var pw int64
		fmt.Sscan(v.VotingPower, &pw)
		total += pw
	}
	slices.Sort(keys)
	return keys, total, nil
}

// gov runs a governance command through member m's node and decodes its
// JSON output.
func (c *cluster) gov(m testnet.Member, tokenFile string, out any, args ...string) {
	c.t.Helper()
	b, err := c.run(append(args, "--node", m.API, "--token-file", tokenFile, "-o", "json")...)
	if err != nil {
		c.t.Fatalf("%v\n%s", err, c.logTails())
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("evidenced %s -o json printed %s: %v", strings.Join(args, " "), b, err)
		}
	}
}

// pass has each of voters approve proposal n through its own node.
func (c *cluster) pass(n uint64, voters []*proc, tokens map[string]string) {
	c.t.Helper()
	for _, p := range voters {
		c.gov(p.m, tokens[p.m.Name], nil, "vote", fmt.Sprint(n), "approve")
	}
}

// validatorsAre waits until every live node but those in except reports
// exactly the validator keys want (hex), and returns the height it saw.
func (c *cluster) validatorsAre(what string, want []string, except ...*proc) int64 {
	c.t.Helper()
	want = slices.Sorted(slices.Values(want))
	var h int64
	c.eventually(what, 90*time.Second, func() error {
		for _, p := range c.live() {
			if slices.Contains(except, p) {
				continue
			}
			got, _, err := validators(p)
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("%s's validators are %v, want %v", p.m.Name, got, want)
			}
		}
		var err error
		h, err = c.height(c.nodes[0])
		return err
	})
	return h
}

// progress waits until the chain has committed n more blocks on every
// live node, and returns the lowest height reached.
func (c *cluster) progress(n int64) int64 {
	c.t.Helper()
	start, err := c.height(c.live()[0])
	if err != nil {
		c.t.Fatal(err)
	}
	var low int64
	c.eventually(fmt.Sprintf("every live node commits %d blocks after height %d", n, start), 60*time.Second, func() error {
		low = 1 << 62
		for _, p := range c.live() {
			h, err := c.height(p)
			if err != nil {
				return err
			}
			if h < start+n {
				return fmt.Errorf("%s at height %d", p.m.Name, h)
			}
			low = min(low, h)
		}
		return nil
	})
	return low
}

// checkpoint checks that every committed submission is on every node and
// that all nodes agree on the app hash, after the chain has moved on.
func (c *cluster) checkpoint(l *load, step string) {
	c.t.Helper()
	h := c.progress(3)
	c.agree(h - 1)
	c.allPresent(l)
	c.t.Logf("✓ %s: %d acknowledged records present on all %d nodes, app hashes agree after height %d, chain still committing",
		step, l.count(), len(c.nodes), h-1)
}

// submitFile submits a file through m's node with the bank's client key and
// returns its transaction id and sidecar.
func (c *cluster) submitFile(m testnet.Member, file, chain string) (string, string) {
	c.t.Helper()
	out, err := c.run("submit", "--node", m.API, "--key", c.a.ClientKey, "--chain", chain, "--step", "1",
		"--kind", "loan-contract", "--output", "json", file)
	if err != nil {
		c.t.Fatal(err)
	}
	var sub struct {
		Submissions []struct {
			Sidecar string `json:"sidecar"`
			Result  struct {
				TxID string `json:"tx_id"`
			} `json:"result"`
		} `json:"submissions"`
	}
	if err := json.Unmarshal(out, &sub); err != nil || len(sub.Submissions) != 1 {
		c.t.Fatalf("submit output %s: %v", out, err)
	}
	return sub.Submissions[0].Result.TxID, sub.Submissions[0].Sidecar
}

// logLine reports whether one line of p's log holds every one of parts.
func (c *cluster) logLine(p *proc, parts ...string) bool {
	for _, l := range strings.Split(c.logSince(p, 0), "\n") {
		if !slices.ContainsFunc(parts, func(part string) bool { return !strings.Contains(l, part) }) {
			return true
		}
	}
	return false
}

// logSize is the size of p's log now: logSince(p, logSize) is what it
// logs from here.
func logSize(t *testing.T, c *cluster, p *proc) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(c.dir, p.m.Name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestGovernanceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("the end-to-end test starts five node processes; run without -short")
	}
	c := startCluster(t, "evidenced-governance", func(a *testnet.Alliance) {
		// Snapshots every 10 heights, so that a joining node finds one.
		for _, m := range a.Members {
			path := filepath.Join(m.Home, "config", "evidenced.toml")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s := strings.Replace(string(b), "snapshot_interval = 1000", "snapshot_interval = 10", 1)
			if s == string(b) {
				t.Fatalf("%s has no snapshot_interval = 1000 to change", path)
			}
			if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	})
	bank, notary, court, arbitration := c.nodes[0], c.nodes[1], c.nodes[2], c.nodes[3]
	tokens := map[string]string{}
	for _, p := range c.nodes {
		tokens[p.m.Name] = p.m.TokensFile
	}
	dir := t.TempDir()

	// The genesis roster, as a court would have exported it years ago.
	genesisRoster := filepath.Join(dir, "genesis-roster.json")
	if _, err := c.run("roster", "export", "--home", court.m.Home, "--out", genesisRoster); err != nil {
		t.Fatal(err)
	}
	genesisValidators, _, err := validators(bank)
	if err != nil || len(genesisValidators) != 4 {
		t.Fatalf("genesis validators %v: %v", genesisValidators, err)
	}

	key, err := keyfile.Load(c.a.ClientKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &load{c: c, key: key, chainID: c.a.ChainID, committed: map[crypto.Hash]uint64{}, stop: make(chan struct{})}
	l.run(1)
	defer l.halt()

	// A receipt from before any change.
	before := filepath.Join(dir, "before.txt")
	if err := os.WriteFile(before, []byte("授信合同 before the roster changes — synthetic"), 0o600); err != nil {
		t.Fatal(err)
	}
	beforeTx, beforeSidecar := c.submitFile(bank.m, before, "GOV-BEFORE")
	beforeReceipt := filepath.Join(dir, "before.receipt.json")
	c.eventually("the receipt from before the changes", 30*time.Second, func() error {
		_, err := c.run("receipt", "--node", court.m.API, beforeTx, "--sidecar", beforeSidecar, "--out", beforeReceipt)
		return err
	})
	t.Log("✓ 4-member alliance running under a light stream of submissions; receipt from before the changes saved")

	// 1. bank-b: its operators make its home from the published genesis and
	// member list, then the members vote it in.
	port := testutil.FreePortBase(t, 30000, 2500, 4)
	bankBHome := filepath.Join(c.dir, "bank-b")
	out, err := c.run("join", "--home", bankBHome, "--genesis", filepath.Join(bank.m.Home, "config", "genesis.json"),
		"--alliance", filepath.Join(c.a.Dir, testnet.ManifestFile), "--member", "bank-b", "--role", "bank", "--no-passphrase",
		"--p2p-port", fmt.Sprint(port), "--rpc-port", fmt.Sprint(port+1), "--api-port", fmt.Sprint(port+2),
		"--blob-port", fmt.Sprint(port+3), "--timeout-commit", "300ms", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var joined struct {
		NodeID    string `json:"node_id"`
		StateSync bool   `json:"state_sync"`
	}
	if err := json.Unmarshal(out, &joined); err != nil || !joined.StateSync {
		t.Fatalf("join -o json: %s (%v): want state sync on", out, err)
	}
	seatB := readSeat(t, filepath.Join(bankBHome, "seat.json"))
	if seatB.Node != joined.NodeID || seatB.Name != "bank-b" {
		t.Fatalf("seat.json %+v does not match join's node id %s", seatB, joined.NodeID)
	}
	tokenB := filepath.Join(c.dir, "bank-b-api-token")
	if _, err := c.run("tokens", "add", "--home", bankBHome, "--scopes", "submit,govern", "--out", tokenB); err != nil {
		t.Fatal(err)
	}
	tokens["bank-b"] = tokenB

	var prop struct {
		Proposal uint64 `json:"proposal"`
	}
	c.gov(bank.m, tokens["bank"], &prop, "propose", "add", "--seat", filepath.Join(bankBHome, "seat.json"), "--power", "10",
		"--reason", "理事会决议 2026-12 号: admit bank-b")
	if prop.Proposal == 0 {
		t.Fatal("propose add printed no proposal index")
	}
	c.pass(prop.Proposal, []*proc{bank, notary, court}, tokens)
	withB := append(slices.Clone(genesisValidators), seatB.Validator)
	h := c.validatorsAre("bank-b's validator key joins the validator set", withB)
	t.Logf("✓ proposal %d (add bank-b) passed with 30 of 40; bank-b is a validator from height %d", prop.Proposal, h)

	// bank-b's node starts now that the roster admits it, and restores a
	// snapshot instead of replaying the chain.
	bankB := &proc{m: testnet.Member{Name: "bank-b", Role: "bank", Home: bankBHome, Validator: true, NodeID: joined.NodeID,
		P2P: fmt.Sprintf("127.0.0.1:%d", port), RPC: fmt.Sprintf("http://127.0.0.1:%d", port+1), API: fmt.Sprintf("http://127.0.0.1:%d", port+2)}}
	if bankB.cl, err = client.New(bankB.m.API); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.nodes = append(c.nodes, bankB)
	c.mu.Unlock()
	c.start(len(c.nodes) - 1)
	c.eventually("bank-b restores a snapshot and follows the chain", 120*time.Second, func() error {
		hb, err := c.height(bankB)
		if err != nil {
			return err
		}
		ha, err := c.height(bank)
		if err != nil {
			return err
		}
		if hb+2 < ha {
			return fmt.Errorf("bank-b at height %d, bank at %d", hb, ha)
		}
		return nil
	})
	restored := c.logSince(bankB, 0)
	i := strings.Index(restored, "snapshot restored (state sync)")
	if i < 0 {
		t.Fatalf("bank-b's log does not say it restored a snapshot:\n%s", restored)
	}
	line := restored[strings.LastIndex(restored[:i], "\n")+1:]
	line = line[:strings.Index(line, "\n")]
	var st struct {
		SyncInfo struct {
			EarliestBlockHeight string `json:"earliest_block_height"`
		} `json:"sync_info"`
	}
	if err := rpcGet(bankB.m.RPC, "/status", &st); err != nil {
		t.Fatal(err)
	}
	var earliest int64
	fmt.Sscan(st.SyncInfo.EarliestBlockHeight, &earliest)
	if earliest <= 1 {
		t.Fatalf("bank-b's earliest block is %d: it replayed from block 1, not from a snapshot", earliest)
	}
	t.Logf("✓ bank-b joined by state sync: its earliest block is %d; its log: %s", earliest, line)
	c.checkpoint(l, "step 1 (add bank-b)")

	// bank-b co-signs: a receipt made now carries its signature. A
	// checkpoint carries the vote extensions the block's proposer had in
	// time, so one may lack a slow validator's: up to 10 probes.
	var cosigned bool
	for i := 0; i < 10 && !cosigned; i++ {
		probe := filepath.Join(dir, fmt.Sprintf("probe-%d.txt", i))
		if err := os.WriteFile(probe, []byte(fmt.Sprintf("probe %d after bank-b joined", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		probeTx, probeSidecar := c.submitFile(bankB.m, probe, fmt.Sprintf("GOV-PROBE-%d", i))
		probeReceipt := filepath.Join(dir, fmt.Sprintf("probe-%d.receipt.json", i))
		c.eventually("a receipt of the probe", 60*time.Second, func() error {
			_, err := c.run("receipt", "--node", bankB.m.API, probeTx, "--sidecar", probeSidecar, "--out", probeReceipt)
			return err
		})
		b, err := os.ReadFile(probeReceipt)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Signatures []struct {
				Member string `json:"member"`
			} `json:"signatures"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Signatures {
			cosigned = cosigned || s.Member == "bank-b"
		}
		t.Logf("  probe %d: checkpoint co-signed by %+v", i, r.Signatures)
	}
	if !cosigned {
		t.Fatalf("bank-b co-signed none of the checkpoints of 10 probes\n%s", c.logTails())
	}
	t.Log("✓ bank-b co-signs checkpoints")

	// 2. The notary's member key leaked: its operators stage a new key, the
	// alliance votes the rotation (bank-b votes too), and the notary's node
	// restarts on the new key.
	if _, err := c.run("keys", "rotate", "--home", notary.m.Home, "-o", "json"); err != nil {
		t.Fatal(err)
	}
	seatN := readSeat(t, filepath.Join(notary.m.Home, "rotate-seat.json"))
	c.gov(notary.m, tokens["notary"], &prop, "propose", "rotate", "--member", "notary", "--seat", filepath.Join(notary.m.Home, "rotate-seat.json"),
		"--reason", "公证处成员密钥泄露, 更换")
	c.pass(prop.Proposal, []*proc{notary, court, bankB, bank}, tokens)
	notaryOld := notary.m.NodeID
	// The notary's old validator key: the one its node reports.
	var ns struct {
		ValidatorInfo struct {
			PubKey struct {
				Value string `json:"value"`
			} `json:"pub_key"`
		} `json:"validator_info"`
	}
	if err := rpcGet(notary.m.RPC, "/status", &ns); err != nil {
		t.Fatal(err)
	}
	b, _ := base64.StdEncoding.DecodeString(ns.ValidatorInfo.PubKey.Value)
	oldNotaryValidator := hex.EncodeToString(b)
	rotated := slices.DeleteFunc(slices.Clone(withB), func(v string) bool { return v == oldNotaryValidator })
	if len(rotated) != 4 {
		t.Fatalf("the notary's validator key %s is not among %v", oldNotaryValidator, withB)
	}
	rotated = append(rotated, seatN.Validator)
	// The notary's node, still on its old key, is no member's node once
	// the rotation is in force: the others disconnect it, and it stops
	// following until its operator restarts it on the new key.
	h = c.validatorsAre("the notary's new validator key replaces its old one", rotated, notary)
	// The others disconnect the notary's old node, and its node says to
	// restart it.
	c.eventually("the notary's node is told to restart on its new key, and the others disconnect its old node", 30*time.Second, func() error {
		if !strings.Contains(c.logSince(notary, 0), `msg="the roster now names the staged member key; restart the node to use it"`) {
			return fmt.Errorf("the notary's node has not logged that the roster names its staged key")
		}
		if !c.logLine(court, `msg="disconnected a CometBFT peer the roster no longer admits"`, "component=peers", "node_id="+notaryOld, "member=notary",
			`reason="member notary's node changed to `+seatN.Node) {
			return fmt.Errorf("the court's node has not logged disconnecting the notary's old node %s", notaryOld)
		}
		return nil
	})
	offset := logSize(t, c, notary)
	c.kill(1, syscall.SIGTERM)
	notary.m.NodeID = seatN.Node
	c.start(1)
	c.eventually("the notary's node moves to its new key at start", 30*time.Second, func() error {
		if !strings.Contains(c.logSince(notary, offset), `msg="rotated the member key: the roster in force names the staged key"`) {
			return fmt.Errorf("the notary's node has not logged moving to its new key")
		}
		return nil
	})
	c.eventually("the notary's node runs on its new key", 60*time.Second, func() error {
		if err := rpcGet(notary.m.RPC, "/status", &ns); err != nil {
			return err
		}
		b, _ := base64.StdEncoding.DecodeString(ns.ValidatorInfo.PubKey.Value)
		if got := hex.EncodeToString(b); got != seatN.Validator {
			return fmt.Errorf("the notary's node signs with %s, want %s", got, seatN.Validator)
		}
		return nil
	})
	t.Logf("✓ proposal %d (rotate notary's key) passed; from height %d the notary's node %s… (was %s…) signs with its new key",
		prop.Proposal, h, seatN.Node[:8], notaryOld[:8])
	c.checkpoint(l, "step 2 (rotate the notary's key)")

	// 3. Arbitration retires.
	c.gov(court.m, tokens["court"], &prop, "propose", "remove", "--member", "arbitration", "--reason", "仲裁委退出联盟")
	c.pass(prop.Proposal, []*proc{court, bank, bankB, notary}, tokens)
	if err := rpcGet(arbitration.m.RPC, "/status", &ns); err != nil {
		t.Fatal(err)
	}
	b, _ = base64.StdEncoding.DecodeString(ns.ValidatorInfo.PubKey.Value)
	arbValidator := hex.EncodeToString(b)
	final := slices.DeleteFunc(slices.Clone(rotated), func(v string) bool { return v == arbValidator })
	h = c.validatorsAre("arbitration leaves the validator set", final, arbitration)
	// Its node is disconnected: no member lists it as a peer.
	c.eventually("no member has arbitration's node as a peer", 60*time.Second, func() error {
		for _, p := range c.live() {
			if p == arbitration {
				continue
			}
			ids, err := peerIDs(p.m.RPC)
			if err != nil {
				return err
			}
			if slices.Contains(ids, arbitration.m.NodeID) {
				return fmt.Errorf("%s still has arbitration's node as a peer", p.m.Name)
			}
		}
		return nil
	})
	if !c.logLine(court, `msg="disconnected a CometBFT peer the roster no longer admits"`, "node_id="+arbitration.m.NodeID, "member=arbitration",
		`reason="member arbitration was removed from the roster in version 3"`) {
		t.Fatalf("the court's node did not log disconnecting arbitration's node")
	}
	c.eventually("arbitration's node says it is no longer in the roster", 30*time.Second, func() error {
		if !strings.Contains(c.logSince(arbitration, 0), `msg="this member is not in the roster in force: the other members refuse this node`) {
			return fmt.Errorf("arbitration's node has not logged it")
		}
		return nil
	})
	c.kill(3, syscall.SIGTERM)
	c.mu.Lock()
	c.nodes = slices.Delete(c.nodes, 3, 4)
	c.mu.Unlock()
	t.Logf("✓ proposal %d (remove arbitration) passed; from height %d the validators are bank, bank-b, notary (new key), court, and no member keeps arbitration's node as a peer", prop.Proposal, h)
	c.checkpoint(l, "step 3 (remove arbitration)")

	// A receipt from after all three changes, co-signed by the new roster.
	after := filepath.Join(dir, "after.txt")
	if err := os.WriteFile(after, []byte("放款凭证 after the roster changes — synthetic"), 0o600); err != nil {
		t.Fatal(err)
	}
	afterTx, afterSidecar := c.submitFile(bank.m, after, "GOV-AFTER")
	afterReceipt := filepath.Join(dir, "after.receipt.json")
	c.eventually("the receipt from after the changes", 60*time.Second, func() error {
		_, err := c.run("receipt", "--node", court.m.API, afterTx, "--sidecar", afterSidecar, "--out", afterReceipt)
		return err
	})
	l.halt()
	l.stop = make(chan struct{}) // the deferred halt closes a fresh channel
	c.allPresent(l)
	c.stopAll()
	t.Logf("✓ %d acknowledged records in all; all nodes stopped", l.count())

	// Offline, with only the genesis roster.
	for _, rc := range []struct{ receipt, file, sidecar string }{{beforeReceipt, before, beforeSidecar}, {afterReceipt, after, afterSidecar}} {
		r, code := c.verify("--receipt", rc.receipt, "--roster", genesisRoster, "--file", rc.file, "--sidecar", rc.sidecar)
		if !r.OK || code != 0 {
			t.Fatalf("verify %s against the genesis roster: exit %d, report %+v", filepath.Base(rc.receipt), code, r)
		}
		var names []string
		for _, st := range r.Steps {
			names = append(names, st.Name)
			if st.Name == "roster_path" {
				t.Logf("  %s roster_path: %s", filepath.Base(rc.receipt), st.Detail)
			}
		}
		t.Logf("✓ %s verifies offline against the genesis roster: %s", filepath.Base(rc.receipt), strings.Join(names, ", "))
	}

	// One co-signature on the after-receipt's roster path altered.
	raw, err := os.ReadFile(afterReceipt)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	rp, _ := doc["roster_path"].(map[string]any)
	path, _ := rp["steps"].([]any)
	if doc["version"] != float64(2) || len(path) != 3 {
		t.Fatalf("the after-receipt is version %v with a roster path of %d steps, want version 2 and 3 steps", doc["version"], len(path))
	}
	step := path[1].(map[string]any)
	sigs := step["signatures"].([]any)
	sig := sigs[0].(map[string]any)
	der, err := base64.StdEncoding.DecodeString(sig["signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	der[len(der)-3] ^= 0x01
	sig["signature"] = base64.StdEncoding.EncodeToString(der)
	forged, _ := json.Marshal(doc)
	forgedPath := filepath.Join(dir, "after.forged.receipt.json")
	if err := os.WriteFile(forgedPath, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	r, code := c.verify("--receipt", forgedPath, "--roster", genesisRoster)
	if r.OK || code != 3 || r.FailedStep != "roster_path" {
		t.Fatalf("verify of a receipt with one altered co-signature on its roster path: exit %d, failed step %q, report %+v", code, r.FailedStep, r)
	}
	for _, st := range r.Steps {
		if st.Name == r.FailedStep {
			t.Logf("✓ one altered co-signature on the roster path fails at step %s: %s", st.Name, st.Detail)
		}
	}
}
