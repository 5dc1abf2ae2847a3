package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

// governRoutes serves the governance endpoints with canned answers: every
// proposal is 57, proposed by bank-a at height 57 with votes until 1057.
func (n *fakeNode) governRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/proposals", func(w http.ResponseWriter, r *http.Request) {
		var req client.ProposalRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || r.Header.Get("Authorization") != "Bearer tok" {
			n.fail(w, &client.Error{Status: 400, Code: client.CodeBadRequest, Field: "body", Message: "bad proposal or token"})
			return
		}
		n.mu.Lock()
		n.proposals = append(n.proposals, req)
		n.mu.Unlock()
		deadline := req.Deadline
		if deadline == 0 {
			deadline = 1057
		}
		n.write(w, 200, client.GovernResult{TxID: crypto.SM3([]byte("p")), Status: client.StatusCommitted, Index: 57, Height: 57, Time: fakeBase,
			Signer: "bank-a", Type: "propose", Proposal: 57, Change: req.Change, Member: req.Member, TSA: req.TSA, Deadline: deadline, ProposalStatus: "open", Tally: client.Tally{Total: 20}})
	})
	mux.HandleFunc("POST /v1/proposals/{p}/votes", func(w http.ResponseWriter, r *http.Request) {
		var req client.VoteRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.PathValue("p") != "57" {
			n.fail(w, &client.Error{Status: 404, Code: client.CodeNotFound, Field: "proposal", Message: "entry is not a roster proposal"})
			return
		}
		n.mu.Lock()
		n.votes = append(n.votes, req)
		n.mu.Unlock()
		n.write(w, 200, client.GovernResult{TxID: crypto.SM3([]byte("v")), Status: client.StatusCommitted, Index: 58, Height: 58, Time: fakeBase,
			Signer: "bank-a", Type: "vote", Proposal: 57, Change: "remove", Member: "court", Deadline: 1057, Decision: req.Decision, ProposalStatus: "open",
			Tally: client.Tally{Approve: 10, Total: 20}})
	})
	power := uint64(0)
	prop := client.Proposal{Proposal: 57, Proposer: "bank-a", Height: 57, ProposalDetails: ledger.ProposalDetails{Change: "set-power", Member: "court", Power: &power, Deadline: 1057, Reason: "test"},
		Status: "open", Votes: []client.VoteInfo{{Member: "bank-a", Decision: "approve", Entry: 58, Power: 10}}, Tally: client.Tally{Approve: 10, Total: 20}}
	mux.HandleFunc("GET /v1/proposals", func(w http.ResponseWriter, r *http.Request) {
		if s := r.URL.Query().Get("status"); s != "" && s != "open" {
			n.write(w, 200, client.ProposalsResponse{Proposals: []client.Proposal{}})
			return
		}
		n.write(w, 200, client.ProposalsResponse{Proposals: []client.Proposal{prop}})
	})
	mux.HandleFunc("GET /v1/proposals/{p}", func(w http.ResponseWriter, r *http.Request) { n.write(w, 200, prop) })
	mux.HandleFunc("GET /v1/roster/versions", func(w http.ResponseWriter, r *http.Request) {
		from := int64(1)
		n.write(w, 200, client.RosterVersionsResponse{Versions: []client.RosterVersion{
			{Version: 0, Digest: crypto.SM3([]byte("v0")), From: &from, InForce: true, Power: 20, Members: 2},
			{Version: 1, Digest: crypto.SM3([]byte("v1")), Proposal: 57, Entry: 60, Pending: true, Power: 20, Members: 2}}, Latest: 1})
	})
}

// writeSeat writes a seat file for member name with a new key.
func writeSeat(t *testing.T, dir, name string) (string, *crypto.PrivateKey) {
	t.Helper()
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v := crypto.SM3([]byte(name + " validator"))
	node := crypto.SM3([]byte(name + " node"))
	seat := client.Seat{Name: name, Role: ledger.RoleBank, Keys: []client.HexBytes{k.Public().Bytes()}, Validator: v[:], Node: node.String()[:40], Peer: "12D3KooWTest"}
	b, _ := json.Marshal(seat)
	path := filepath.Join(dir, name+"-seat.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, k
}

func TestProposeAndVote(t *testing.T) {
	_, key := testKey(t, t.TempDir(), "")
	n := newFakeNode(t, key.Public())
	t.Setenv(envToken, "tok")
	dir := t.TempDir()
	seat, seatKey := writeSeat(t, dir, "bank-b")

	out, _, err := runCLI(t, "propose", "remove", "--member", "court", "--reason", "董事会决议", "--node", n.srv.URL)
	if err != nil || out != "Proposal 57 (remove court) submitted by bank-a; votes count until height 1057.\n" {
		t.Fatalf("propose remove: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "propose", "add", "--seat", seat, "--power", "5", "--deadline", "900", "--node", n.srv.URL, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res client.GovernResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Proposal != 57 || res.Deadline != 900 || res.Change != "add" || res.Member != "bank-b" {
		t.Fatalf("propose add -o json: %s (%v)", out, err)
	}
	if !strings.Contains(out, `"proposal": 57`) {
		t.Fatalf("-o json without \"proposal\": %s", out)
	}
	got := n.proposals
	if len(got) != 2 || got[0].Change != "remove" || got[0].Reason != "董事会决议" || got[0].Deadline != 0 ||
		got[1].Member != "bank-b" || *got[1].Power != 5 || got[1].Role != "bank" || len(got[1].Validator) != 32 || !bytes.Equal(got[1].Keys[0], seatKey.Public().Bytes()) {
		t.Fatalf("requests %+v", got)
	}
	out, _, err = runCLI(t, "propose", "add", "--seat", seat, "--power", "0", "--role", "regulator", "--node", n.srv.URL)
	if err != nil || len(n.proposals) != 3 || n.proposals[2].Validator != nil || n.proposals[2].Role != "regulator" {
		t.Fatalf("propose add with power 0: %q %v %+v", out, err, n.proposals)
	}

	out, _, err = runCLI(t, "vote", "57", "approve", "--node", n.srv.URL)
	if err != nil || !strings.Contains(out, "bank-a voted approve on proposal 57 (remove court) in block 58.") ||
		!strings.Contains(out, "Tally: approve 10, reject 0 of 20 (passes above 13⅓); status open.") || n.votes[0].Decision != "approve" {
		t.Fatalf("vote: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "proposals", "--status", "open", "--node", n.srv.URL)
	if err != nil || !strings.Contains(out, "PROPOSAL") || !strings.Contains(out, "57        set-power  court") {
		t.Fatalf("proposals: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "proposals", "show", "57", "--node", n.srv.URL)
	if err != nil || !strings.Contains(out, "Proposal 57: set-power court, proposed by bank-a in block 57") || !strings.Contains(out, "power      0") ||
		!strings.Contains(out, "bank-a       approve power 10 (entry 58)") {
		t.Fatalf("proposals show: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "roster", "versions", "--node", n.srv.URL)
	if err != nil || !strings.Contains(out, "in force") || !strings.Contains(out, "pending") {
		t.Fatalf("roster versions: %q, %v", out, err)
	}

	// Refused before anything is sent.
	before := len(n.proposals)
	bad := seat + ".bad"
	if err := os.WriteFile(bad, []byte(`{"name":"x","keys":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rotSeat, _ := writeSeat(t, dir, "notary")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"propose", "remove", "--member", "nobody"}, "nobody is not a member"},
		{[]string{"propose", "remove"}, "--member NAME is required"},
		{[]string{"propose", "add", "--seat", seat}, "--power N is required"},
		{[]string{"propose", "add", "--power", "1"}, "--seat FILE is required"},
		{[]string{"propose", "add", "--seat", bad, "--power", "1"}, "holds no member key"},
		{[]string{"propose", "add", "--seat", seat, "--power", "1", "--role", "king"}, "the proposal is not valid"},
		{[]string{"propose", "rotate", "--member", "court", "--seat", rotSeat}, "is the seat of notary, not of court"},
		{[]string{"propose", "add-key", "--member", "court", "--key", "abcd"}, "neither a PUBLIC KEY PEM file"},
		{[]string{"propose", "set-role", "--member", "court"}, "--role ROLE is required"},
		{[]string{"propose", "set-power", "--member", "court"}, "--power N is required"},
		{[]string{"vote", "x", "approve"}, "not an entry index"},
		{[]string{"vote", "57", "maybe"}, "want approve or reject"},
	} {
		if _, _, err := runCLI(t, append(tc.args, "--node", n.srv.URL)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if len(n.proposals) != before {
		t.Fatalf("a refused proposal was sent: %+v", n.proposals[before:])
	}
}

func TestProposeTSA(t *testing.T) {
	_, key := testKey(t, t.TempDir(), "")
	n := newFakeNode(t, key.Public())
	t.Setenv(envToken, "tok")
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "tsa.pem")
	if err := os.WriteFile(pemFile, ledgertest.TSACertPEM(0), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "propose", "add-tsa", "--name", "ntsc-tsa", "--cert", pemFile, "--hashes", "sm3,sha256", "--node", n.srv.URL)
	if err != nil || out != "Proposal 57 (add-tsa TSA ntsc-tsa) submitted by bank-a; votes count until height 1057.\n" {
		t.Fatalf("propose add-tsa: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "propose", "remove-tsa", "--name", "old-tsa", "--node", n.srv.URL)
	if err != nil || out != "Proposal 57 (remove-tsa TSA old-tsa) submitted by bank-a; votes count until height 1057.\n" {
		t.Fatalf("propose remove-tsa: %q, %v", out, err)
	}
	got := n.proposals
	if len(got) != 2 || got[0].Change != "add-tsa" || got[0].TSA != "ntsc-tsa" || !bytes.Equal(got[0].TSACert, ledgertest.TSACert(0)) ||
		strings.Join(got[0].TSAHashes, ",") != "sha256,sm3" || got[0].Member != "" || got[1].Change != "remove-tsa" || got[1].TSA != "old-tsa" || got[1].TSACert != nil {
		t.Fatalf("requests %+v", got)
	}
	notCert := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notCert, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"propose", "add-tsa", "--cert", pemFile, "--hashes", "sm3"}, "--name NAME is required"},
		{[]string{"propose", "add-tsa", "--name", "a", "--hashes", "sm3"}, "--cert FILE is required"},
		{[]string{"propose", "add-tsa", "--name", "a", "--cert", pemFile}, "--hashes is required"},
		{[]string{"propose", "add-tsa", "--name", "a", "--cert", pemFile, "--hashes", "md5"}, "want sm3, sha256"},
		{[]string{"propose", "add-tsa", "--name", "a", "--cert", notCert, "--hashes", "sm3"}, "want a CERTIFICATE"},
		{[]string{"propose", "add-tsa", "--name", "a b", "--cert", pemFile, "--hashes", "sm3"}, "TSA name"},
		{[]string{"propose", "remove-tsa"}, "--name NAME is required"},
	} {
		if _, _, err := runCLI(t, append(tc.args, "--node", n.srv.URL)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if len(n.proposals) != 2 {
		t.Fatalf("a refused proposal was sent: %+v", n.proposals[2:])
	}
}

// TestTxBuildVote builds an unsigned vote offline, signs body.bin as an
// external signer would, and assembles it with tx attach.
func TestTxBuildVote(t *testing.T) {
	dir := t.TempDir()
	keyPath, key := testKey(t, dir, "")
	pub := filepath.Join(dir, "member.pub.pem")
	pemBytes, err := key.Public().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = keyPath
	out := filepath.Join(dir, "sign")
	if _, _, err := runCLI(t, "tx", "build", "vote", "57", "approve", "--chain-id", "evidenced-test", "--pub", pub, "--out", out); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(out, bodyBinName))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := os.ReadFile(filepath.Join(out, bodyJSONName))
	if err != nil || !strings.Contains(string(desc), `"type": "vote"`) || !strings.Contains(string(desc), `"decision": "approve"`) {
		t.Fatalf("body.json: %s (%v)", desc, err)
	}
	sig, err := key.Sign(rand.Reader, body)
	if err != nil {
		t.Fatal(err)
	}
	sigPath := filepath.Join(out, "sig.der")
	if err := os.WriteFile(sigPath, sig, 0o644); err != nil {
		t.Fatal(err)
	}
	txPath := filepath.Join(out, "tx.bin")
	if _, _, err := runCLI(t, "tx", "attach", "--body", filepath.Join(out, bodyBinName), "--signature", sigPath, "--out", txPath); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(txPath)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := tx.Body.Payload.(*ledger.Vote); !ok || v.Proposal != 57 || v.Decision != ledger.Approve || tx.Body.Signer != key.Public().ID() {
		t.Fatalf("assembled %+v", tx.Body)
	}
	// A proposal offline needs its deadline.
	if _, _, err := runCLI(t, "tx", "build", "propose", "remove", "--member", "court", "--chain-id", "evidenced-test", "--pub", pub, "--out", filepath.Join(dir, "p")); err == nil ||
		!strings.Contains(err.Error(), "--deadline H is required") {
		t.Fatalf("offline proposal without deadline: %v", err)
	}
	if _, _, err := runCLI(t, "tx", "build", "propose", "remove", "--member", "court", "--deadline", "99", "--chain-id", "evidenced-test", "--pub", pub, "--out", filepath.Join(dir, "p")); err != nil {
		t.Fatal(err)
	}
}

func TestKeysRotate(t *testing.T) {
	home := filepath.Join(t.TempDir(), "notary")
	if _, err := node.InitHome(node.HomeSpec{Home: home, Moniker: "notary", Member: "notary", Role: ledger.RoleNotary, ChainID: "evidenced-test",
		Host: "127.0.0.1", P2PPort: 1, RPCPort: 2, APIPort: 3}); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "keys", "rotate", "--home", home)
	seatFile := filepath.Join(home, node.RotateSeatFile)
	if err != nil || !strings.Contains(out, "propose it with: evidenced propose rotate --member notary --seat "+seatFile+"\n") {
		t.Fatalf("keys rotate: %q, %v", out, err)
	}
	st, err := readSeat(seatFile)
	if err != nil || st.Name != "notary" || len(st.Keys) != 1 {
		t.Fatalf("rotate seat: %+v, %v", st, err)
	}
	if fi, err := os.Stat(filepath.Join(home, "keys", "member.next.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("member.next.pem: %v, %v", fi, err)
	}
	if _, _, err := runCLI(t, "keys", "rotate", "--home", home); err == nil || !strings.Contains(err.Error(), "already staged") {
		t.Fatalf("second rotate: %v", err)
	}
}

// TestJoinWritesSeat: a member the genesis roster does not hold gets a
// seat file and the command that proposes it.
func TestJoinWritesSeat(t *testing.T) {
	dir := t.TempDir()
	a, err := testnet.Generate(testnet.Options{Out: filepath.Join(dir, "alliance"), ChainID: "evidenced-seat", Members: []string{"bank", "notary"}, BasePort: 41000})
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "bank-b")
	out, _, err := runCLI(t, "join", "--home", home, "--genesis", filepath.Join(a.Members[0].Home, "config", "genesis.json"), "--member", "bank-b",
		"--alliance", filepath.Join(a.Dir, testnet.ManifestFile), "--no-passphrase", "--no-state-sync")
	seatFile := filepath.Join(home, node.SeatFile)
	if err != nil || !strings.Contains(out, "propose it with: evidenced propose add --seat "+seatFile+" --power N\n") {
		t.Fatalf("join: %q, %v", out, err)
	}
	st, err := readSeat(seatFile)
	if err != nil || st.Name != "bank-b" || st.Role != ledger.RoleBank || len(st.Validator) != 32 || !strings.HasPrefix(st.Peer, "12D3KooW") {
		t.Fatalf("seat %+v, %v", st, err)
	}
}
