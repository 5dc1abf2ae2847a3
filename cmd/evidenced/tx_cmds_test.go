package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/internal/testutil"

	"github.com/emmansun/gmsm/sm2"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// openssl runs openssl with args in dir.
func openssl(t *testing.T, bin, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

// readUnsigned reads and decodes DIR/body.json.
func readUnsigned(t *testing.T, dir string) *unsignedTx {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, bodyJSONName))
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnsignedTx(data)
	if err != nil {
		t.Fatalf("body.json: %v\n%s", err, data)
	}
	return u
}

// writePub writes pub as PEM to dir/name and returns the path.
func writePub(t *testing.T, dir, name string, pub *crypto.PublicKey) string {
	t.Helper()
	p, err := pub.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(p))
}

func TestTxBuildAttachOpenSSL(t *testing.T) {
	bin := testutil.RequireOpenSSL(t)
	dir := t.TempDir()
	openssl(t, bin, dir, "genpkey", "-algorithm", "SM2", "-out", "k.pem")
	openssl(t, bin, dir, "pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem")
	pemBytes, err := os.ReadFile(filepath.Join(dir, "pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := crypto.ParsePublicKeyPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	n := newFakeNode(t, pub)
	out := filepath.Join(dir, "sign")
	files := []string{writeFile(t, dir, "contract.pdf", "loan agreement, 12 instalments"), writeFile(t, dir, "disbursal.json", `{"note":"J-1"}`)}
	for step, f := range files {
		stepArg := string(rune('1' + step))
		o := filepath.Join(out, stepArg)
		stdout, e, err := runCLI(t, "tx", "build", "--node", n.srv.URL, "--pub", filepath.Join(dir, "pub.pem"), "--chain", "LOAN-9",
			"--step", stepArg, "--kind", "loan-contract", "--label", "product=consumer-loan", "--out", o, f)
		if err != nil {
			t.Fatalf("tx build step %s: %v\n%s", stepArg, err, e)
		}
		u := readUnsigned(t, o)
		if !strings.Contains(stdout, u.Sign.OpenSSL) || !strings.Contains(stdout, "tx id      "+u.TxID.String()) {
			t.Errorf("build output lacks the OpenSSL command or tx id:\n%s", stdout)
		}
		// Sign with OpenSSL exactly as body.json says (our key file in place of SIGNER.key.pem).
		args := strings.Fields(strings.Replace(u.Sign.OpenSSL, "SIGNER.key.pem", "k.pem", 1))
		openssl(t, bin, dir, args[1:]...)
		txPath := filepath.Join(o, "tx.bin")
		stdout, e, err = runCLI(t, "tx", "attach", "--body", filepath.Join(o, bodyBinName), "--signature", filepath.Join(o, "sig.der"),
			"--pub", filepath.Join(dir, "pub.pem"), "--out", txPath, "--submit", "--node", n.srv.URL)
		if err != nil {
			t.Fatalf("tx attach step %s: %v\n%s", stepArg, err, e)
		}
		if len(n.txs) != step+1 {
			t.Fatalf("node accepted %d transactions, want %d", len(n.txs), step+1)
		}
		tx := n.txs[step]
		raw, err := os.ReadFile(txPath)
		if err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(filepath.Join(o, bodyBinName))
		if err != nil {
			t.Fatal(err)
		}
		if tx.ID() != u.TxID || !bytes.Equal(tx.BodyBytes, body) || !bytes.Equal(n.entries[fakeGenesis+step].Entry, (&ledger.Entry{
			Height: int64(step + 1), Time: fakeBase.Add(time.Duration(step+1) * time.Second).UnixNano(), TxBytes: raw}).Encode()) {
			t.Errorf("the node holds tx %s, want %s with the bytes of tx.bin", tx.ID(), u.TxID)
		}
		if err := pub.Verify(tx.BodyBytes, tx.Signature); err != nil {
			t.Errorf("OpenSSL signature in the accepted tx: %v", err)
		}
		sc := readSidecar(t, f)
		rec := n.records(step)[0]
		if rec.Commitment != sc.Commitment || sc.Status != sidecar.StatusCommitted || sc.TxID != u.TxID || sc.Index != uint64(fakeGenesis+step) ||
			sc.Height != int64(step+1) || sc.Step != uint32(step+1) || sc.ChainID != "evidenced-test" {
			t.Errorf("record commitment %s; sidecar %+v", rec.Commitment, sc)
		}
		if step == 1 && rec.Prev != n.entries[fakeGenesis].LeafHash {
			t.Errorf("step 2 prev = %s, want step 1's leaf hash %s", rec.Prev, n.entries[fakeGenesis].LeafHash)
		}
		if !strings.Contains(stdout, f+": chain LOAN-9 step "+stepArg+": entry") || !strings.Contains(stdout, "tx "+u.TxID.String()) {
			t.Errorf("attach output:\n%s", stdout)
		}
	}
}

func TestTxAttachRefuses(t *testing.T) {
	dir := t.TempDir()
	_, key := testKey(t, dir, "")
	other, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n := newFakeNode(t, key.Public())
	pubPath := writePub(t, dir, "pub.pem", key.Public())
	otherPub := writePub(t, dir, "other.pem", other.Public())
	out := filepath.Join(dir, "sign")
	if _, e, err := runCLI(t, "tx", "build", "--node", n.srv.URL, "--key-id", key.Public().ID().String(), "--chain", "R-1", "--step", "1",
		"--kind", "contract", "--out", out, writeFile(t, dir, "c.pdf", "contract")); err != nil {
		t.Fatalf("tx build: %v %s", err, e)
	}
	binPath := filepath.Join(out, bodyBinName)
	body, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(k *crypto.PrivateKey, msg []byte) []byte {
		t.Helper()
		sig, err := k.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	good := sign(key, body)
	tests := []struct {
		name   string
		sig    []byte
		body   []byte // replaces body.bin when set
		noJSON bool   // body.json removed
		args   []string
		want   string
	}{
		{"other-bytes", sign(key, append([]byte("x"), body...)), nil, false, []string{"--pub", pubPath}, "does not verify over " + binPath + " with key " + key.Public().ID().Short()},
		{"hash-signed", sign(key, hashBytes(crypto.SM3(body))), nil, false, nil, "does not verify"},
		{"other-key", sign(other, body), nil, false, []string{"--pub", pubPath}, "does not verify"},
		{"wrong-pub", good, nil, false, []string{"--pub", otherPub}, "--pub " + otherPub + " is key " + other.Public().ID().String() + ", but the body names signer " + key.Public().ID().String()},
		{"garbage", []byte("not a signature at all!"), nil, false, []string{"--pub", pubPath}, "malformed SM2 signature"},
		{"raw-rs", make([]byte, 64), nil, false, []string{"--pub", pubPath}, "looks like raw r‖s"},
		{"base64", []byte(base64.StdEncoding.EncodeToString(good) + "\n"), nil, false, []string{"--pub", pubPath}, "looks like base64 or hex text"},
		{"trailing", append(append([]byte{}, good...), 0), nil, false, []string{"--pub", pubPath}, "malformed SM2 signature"},
		{"edited-body", good, editByte(body, len(body)-1), false, []string{"--pub", pubPath}, "was changed after tx build wrote it"},
		{"no-body-json", good, nil, true, []string{"--pub", pubPath}, "body.json is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := filepath.Join(dir, tt.name)
			copyDir(t, out, d)
			if tt.body != nil {
				writeFile(t, d, bodyBinName, string(tt.body))
			}
			if tt.noJSON {
				os.Remove(filepath.Join(d, bodyJSONName))
			}
			sigPath := writeFile(t, d, "sig.der", string(tt.sig))
			txPath := filepath.Join(d, "tx.bin")
			args := append([]string{"tx", "attach", "--node", n.srv.URL, "--body", filepath.Join(d, bodyBinName), "--signature", sigPath,
				"--out", txPath, "--submit"}, tt.args...)
			_, _, err := runCLI(t, args...)
			want := strings.ReplaceAll(tt.want, out, d)
			if err == nil || !strings.Contains(err.Error(), want) || exitCode(err) != 1 {
				t.Fatalf("err = %v\nwant exit 1 with %q", err, want)
			}
			if _, err := os.Stat(txPath); !os.IsNotExist(err) {
				t.Errorf("tx.bin was written despite the refusal")
			}
			if n.posts != 0 {
				t.Errorf("%d submissions reached the node", n.posts)
			}
		})
	}
	// The good signature, key resolved from the node's roster (--key-id build, no --pub).
	sigPath := writeFile(t, out, "sig.der", string(good))
	stdout, e, err := runCLI(t, "tx", "attach", "--node", n.srv.URL, "--body", binPath, "--signature", sigPath, "--out", filepath.Join(out, "tx.bin"), "-o", "json")
	if err != nil {
		t.Fatalf("attach: %v %s", err, e)
	}
	var got attached
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	u := readUnsigned(t, out)
	if got.TxID != u.TxID || got.Signer != key.Public().ID() || got.VerifiedBy != "member bank-a at "+n.srv.URL || n.posts != 0 {
		t.Errorf("attach = %+v, posts %d", got, n.posts)
	}
	raw, err := os.ReadFile(filepath.Join(out, "tx.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ledger.DecodeTx(raw)
	if err != nil || tx.ID() != u.TxID || !bytes.Equal(tx.Signature, good) || len(raw) != got.Size {
		t.Errorf("tx.bin: %v", err)
	}
}

func TestTxAttachRosterKeyMismatch(t *testing.T) {
	// The fake node lists key cc01… of member court with bank-a's public key:
	// attach must not trust a key that does not hash to the id.
	dir := t.TempDir()
	_, key := testKey(t, dir, "")
	n := newFakeNode(t, key.Public())
	out := filepath.Join(dir, "sign")
	id := crypto.KeyID{0xcc, 1}
	if _, e, err := runCLI(t, "tx", "build", "--chain-id", "evidenced-test", "--key-id", id.String(), "--chain", "K-1", "--step", "1",
		"--kind", "contract", "--out", out, writeFile(t, dir, "k.pdf", "k")); err != nil {
		t.Fatalf("tx build: %v %s", err, e)
	}
	body, _ := os.ReadFile(filepath.Join(out, bodyBinName))
	sig, err := key.Sign(rand.Reader, body)
	if err != nil {
		t.Fatal(err)
	}
	sigPath := writeFile(t, out, "sig.der", string(sig))
	_, _, err = runCLI(t, "tx", "attach", "--node", n.srv.URL, "--body", filepath.Join(out, bodyBinName), "--signature", sigPath, "--out", filepath.Join(out, "tx.bin"))
	if err == nil || !strings.Contains(err.Error(), "the node lists key "+id.Short()+" of member court with a public key that is not that key") {
		t.Fatalf("err = %v", err)
	}
}

func TestTxBuildOfflineDigestBatch(t *testing.T) {
	// A signer that takes the precomputed digest e from body.json, a batch,
	// built with no node at all.
	dir := t.TempDir()
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubBytes := make([]byte, crypto.PublicKeySize)
	pubBytes[0] = 4
	priv.X.FillBytes(pubBytes[1:33])
	priv.Y.FillBytes(pubBytes[33:])
	pub, err := crypto.ParsePublicKey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	pubPath := writePub(t, dir, "pub.pem", pub)
	dead := newFakeNode(t, pub)
	dead.srv.Close()
	prev1, prev2 := crypto.SM3([]byte("a")), crypto.SM3([]byte("b"))
	files := []string{writeFile(t, dir, "r1", "repayment 1"), writeFile(t, dir, "r2", "repayment 2")}
	out := filepath.Join(dir, "sign")
	base := []string{"tx", "build", "--node", dead.srv.URL, "--pub", pubPath, "--chain", "DAY-1", "--kind", "repayment", "--out", out, "--batch"}
	if _, _, err := runCLI(t, append(base, "--step", "2", files[0], files[1])...); err == nil || !strings.Contains(err.Error(), "cannot reach the node") {
		t.Fatalf("step 2 without --chain-id or --prev: err = %v, want the node to be needed", err)
	}
	if _, _, err := runCLI(t, append(base, "--step", "2", "--chain-id", "evidenced-test", "--prev", prev1.String(), files[0], files[1])...); err == nil ||
		!strings.Contains(err.Error(), "1 --prev values for 2 files") {
		t.Fatalf("one --prev for two files: err = %v", err)
	}
	stdout, e, err := runCLI(t, append(base, "--step", "2", "--chain-id", "evidenced-test", "--prev", prev1.String(), "--prev", prev2.String(), "-o", "json", files[0], files[1])...)
	if err != nil {
		t.Fatalf("offline batch build: %v %s", err, e)
	}
	u := readUnsigned(t, out)
	var printed unsignedTx
	if err := json.Unmarshal([]byte(stdout), &printed); err != nil || !reflect.DeepEqual(&printed, u) {
		t.Errorf("-o json output differs from body.json: %v", err)
	}
	body, err := os.ReadFile(filepath.Join(out, bodyBinName))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := ledger.DecodeBody(body)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Type() != ledger.TxBatch || dec.ChainID != "evidenced-test" || dec.Signer != pub.ID() || len(dec.EvidenceRecords()) != 2 ||
		dec.EvidenceRecords()[0].Chain != "DAY-1.1" || dec.EvidenceRecords()[1].Prev != prev2 || dec.EvidenceRecords()[0].Prev != prev1 || dec.EvidenceRecords()[1].Step != 2 {
		t.Fatalf("body = %+v", dec)
	}
	for i, f := range files {
		sc := readSidecar(t, f)
		if sc.Status != sidecar.StatusPending || sc.TxID != u.TxID || sc.Commitment != dec.EvidenceRecords()[i].Commitment || u.Records[i].Sidecar != f+sidecar.Suffix {
			t.Errorf("sidecar %d = %+v", i, sc)
		}
	}
	// Sign the digest e, as an HSM taking a precomputed hash does.
	sig, err := sm2.SignASN1(rand.Reader, priv, u.Sign.Digest[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(body, sig); err != nil {
		t.Fatalf("a signature of body.json's digest does not verify over body.bin: %v", err)
	}
	sigPath := writeFile(t, out, "sig.der", string(sig))
	// No --pub: body.json carries the public key, so no node is needed.
	if _, e, err := runCLI(t, "tx", "attach", "--node", dead.srv.URL, "--body", filepath.Join(out, bodyBinName), "--signature", sigPath,
		"--out", filepath.Join(out, "tx.bin")); err != nil {
		t.Fatalf("offline attach: %v %s", err, e)
	}
	// Building again into the same directory is refused.
	if _, _, err := runCLI(t, "tx", "build", "--chain-id", "evidenced-test", "--pub", pubPath, "--chain", "X-1", "--step", "1", "--kind", "k",
		"--out", out, writeFile(t, dir, "x", "x")); err == nil || !strings.Contains(err.Error(), filepath.Join(out, bodyBinName)+" already exists") {
		t.Errorf("build into a used --out: err = %v", err)
	}
}

func TestTxBuildFlagErrors(t *testing.T) {
	dir := t.TempDir()
	_, key := testKey(t, dir, "")
	pubPath := writePub(t, dir, "pub.pem", key.Public())
	f := writeFile(t, dir, "f", "f")
	base := []string{"tx", "build", "--chain-id", "evidenced-test", "--chain", "F-1", "--kind", "contract"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no-key", []string{"--step", "1", "--out", dir + "/o", f}, "--pub PUB.pem or --key-id HEX is required"},
		{"both-keys", []string{"--step", "1", "--out", dir + "/o", "--pub", pubPath, "--key-id", key.Public().ID().String(), f}, "not both"},
		{"bad-key-id", []string{"--step", "1", "--out", dir + "/o", "--key-id", "abc", f}, `--key-id "abc": want the 64 hex digits`},
		{"private-as-pub", []string{"--step", "1", "--out", dir + "/o", "--pub", filepath.Join(dir, "bank-a.key"), f}, "want a PUBLIC KEY PEM file"},
		{"no-out", []string{"--step", "1", "--pub", pubPath, f}, "--out DIR is required"},
		{"two-files", []string{"--step", "1", "--out", dir + "/o", "--pub", pubPath, f, f}, "2 files need --batch"},
		{"prev-step1", []string{"--step", "1", "--out", dir + "/o", "--pub", pubPath, "--prev", crypto.SM3(nil).String(), f}, "--prev is only for steps after the first"},
		{"bad-prev", []string{"--step", "2", "--out", dir + "/o", "--pub", pubPath, "--prev", "zz", f}, `--prev "zz": want the 64 hex digits of step 1's leaf hash`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, append(append([]string{}, base...), tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(f + sidecar.Suffix); !os.IsNotExist(err) {
				t.Errorf("a sidecar was left behind")
			}
		})
	}
}

// editByte returns a copy of b with byte i changed.
func editByte(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 1
	return c
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dst, e.Name(), string(b))
	}
}

func hashBytes(h crypto.Hash) []byte { return h[:] }
