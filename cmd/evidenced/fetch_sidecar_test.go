package main

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/sidecar"
)

// fetchNode serves the example record 6 (receipt/testdata) as a member node
// does for a member granted its original: the original with its trailers,
// its custody, its entry, its receipt (without salt) and the roster. With
// noEntry it serves no entry.
func fetchNode(t *testing.T, noEntry bool) (*httptest.Server, []byte) {
	t.Helper()
	r, _ := readExample(t)
	salt := r.Record.Salt
	r.Record.Salt = nil
	served, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(exampleOriginal)
	if err != nil {
		t.Fatal(err)
	}
	roster, err := readRoster(exampleRoster)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := roster.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cipher := crypto.SM3([]byte("ciphertext of record 6"))
	rec := r.Record
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(v); err != nil {
			t.Errorf("fetch node: %v", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/evidence/6/original", func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer fetch-token-0123456789" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Trailer", client.VerifiedTrailer+", "+client.AccessTrailer+", "+client.SaltTrailer)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(original)
		w.Header().Set(client.VerifiedTrailer, "ok")
		w.Header().Set(client.AccessTrailer, "9")
		w.Header().Set(client.SaltTrailer, hex.EncodeToString(salt))
	})
	mux.HandleFunc("GET /v1/evidence/6/custody", func(w http.ResponseWriter, req *http.Request) {
		write(w, client.Custody{Record: "6.0", Owner: rec.Submitter, Cipher: &cipher, CipherSize: rec.Size + 35, Events: []client.CustodyEvent{}})
	})
	mux.HandleFunc("GET /v1/entries/6", func(w http.ResponseWriter, req *http.Request) {
		if noEntry {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"status":404,"code":"not_found","message":"no entry 6"}}`))
			return
		}
		write(w, client.Entry{Index: 6, Height: rec.Height, Time: rec.Time, Entry: r.Leaf, TxID: rec.TxID, Type: rec.Type, ChainID: r.ChainID,
			Signer: rec.Submitter, SignerKey: rec.SubmitterKey, ClientTime: rec.ClientTime,
			Records: []client.Record{{Pos: rec.Pos, Kind: rec.Kind, Chain: rec.Chain, Step: rec.Step, Prev: rec.Prev, Commitment: rec.Commitment,
				Size: rec.Size, Cipher: &cipher, Labels: rec.Labels}}})
	})
	mux.HandleFunc("GET /v1/evidence/6/receipt", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(served)
	})
	mux.HandleFunc("GET /v1/roster", func(w http.ResponseWriter, req *http.Request) {
		write(w, client.RosterResponse{Roster: *roster, Digest: digest})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, salt
}

// TestFetchSidecar fetches the original of a record and checks that the
// sidecar fetch writes has the shape submit writes (the record, its
// transaction and entry, the chain id, where the ciphertext is kept), that
// receipt --sidecar accepts it, and that fetch prints no salt.
func TestFetchSidecar(t *testing.T) {
	srv, salt := fetchNode(t, false)
	r, example := readExample(t)
	rec := r.Record
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", "fetch-token-0123456789\n")
	out := filepath.Join(dir, "contract.txt")

	text, errOut, err := runCLI(t, "fetch", "6", "--out", out, "--node", srv.URL, "--token-file", tokenFile)
	if err != nil {
		t.Fatalf("fetch: %v\n%s", err, errOut)
	}
	if !strings.Contains(text, "receipt check: verified") || !strings.Contains(text, "entry 9") {
		t.Errorf("fetch output:\n%s", text)
	}
	if strings.Contains(text, hex.EncodeToString(salt)) {
		t.Errorf("fetch prints the salt:\n%s", text)
	}
	sc := readSidecar(t, out)
	cipher := crypto.SM3([]byte("ciphertext of record 6"))
	want := sidecar.File{Version: sidecar.Version, Name: "contract.txt", Size: rec.Size, Salt: sidecar.Salt(salt), Commitment: rec.Commitment,
		Chain: rec.Chain, Step: rec.Step, Pos: rec.Pos, Kind: rec.Kind, Labels: rec.Labels, Status: sidecar.StatusCommitted, TxID: rec.TxID,
		Index: 6, Height: rec.Height, Time: rec.Time, ChainID: r.ChainID,
		Kept: &sidecar.Kept{Cipher: cipher, CipherSize: rec.Size + 35, Owner: rec.Submitter}}
	if !reflect.DeepEqual(sc, want) {
		t.Errorf("fetch's sidecar = %+v\nwant (submit's shape) %+v", sc, want)
	}

	// receipt --sidecar accepts it: the receipt it writes is the example,
	// salt included.
	withSalt := filepath.Join(dir, "contract.receipt.json")
	if _, errOut, err := runCLI(t, "receipt", "6", "--node", srv.URL, "--sidecar", sidecar.Path(out), "--out", withSalt); err != nil {
		t.Fatalf("receipt --sidecar of a fetched original: %v\n%s", err, errOut)
	}
	if got, err := os.ReadFile(withSalt); err != nil || string(got) != string(example) {
		t.Errorf("receipt with the fetched sidecar's salt differs from the example (%v):\n%s", err, got)
	}
	if _, _, err := runCLI(t, "verify", "--receipt", withSalt, "--roster", exampleRoster, "--file", out, "--sidecar", sidecar.Path(out)); err != nil {
		t.Errorf("verify --file --sidecar of a fetched original: %v", err)
	}

	// JSON output: no salt either.
	out2 := filepath.Join(dir, "again.txt")
	js, _, err := runCLI(t, "fetch", "6", "--out", out2, "--node", srv.URL, "--token-file", tokenFile, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res fetched
	if err := json.Unmarshal([]byte(js), &res); err != nil || res.Access != 9 || res.Sidecar != sidecar.Path(out2) || res.Size != int64(rec.Size) {
		t.Errorf("fetch -o json: %v\n%s", err, js)
	}
	if strings.Contains(js, hex.EncodeToString(salt)) || strings.Contains(js, `"salt"`) {
		t.Errorf("fetch -o json prints the salt:\n%s", js)
	}
}

// TestFetchSidecarNoRecord: when the record cannot be read after the
// original was fetched, the salt is still saved (0600), and the error says
// the sidecar lacks the record and to fetch again.
func TestFetchSidecarNoRecord(t *testing.T) {
	srv, salt := fetchNode(t, true)
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", "fetch-token-0123456789\n")
	out := filepath.Join(dir, "contract.txt")
	_, _, err := runCLI(t, "fetch", "6", "--out", out, "--node", srv.URL, "--token-file", tokenFile)
	if err == nil || !strings.Contains(err.Error(), "holds the original's salt, but not its record") || !strings.Contains(err.Error(), "run evidenced fetch 6 again") {
		t.Fatalf("fetch without the record: %v", err)
	}
	sc, err := sidecar.Load(sidecar.Path(out))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Salt.String() != hex.EncodeToString(salt) || sc.Status != sidecar.StatusPending {
		t.Errorf("sidecar without the record: %+v", sc)
	}
	if fi, err := os.Stat(sidecar.Path(out)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sidecar mode: %v %v", fi, err)
	}
}
