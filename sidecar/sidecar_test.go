package sidecar_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/sidecar"
)

// committed is a sidecar of a committed record, as submit writes it.
func committed() *sidecar.File {
	salt := sidecar.Salt(bytes.Repeat([]byte{0xab}, crypto.SaltSize))
	original := []byte("loan agreement")
	f := &sidecar.File{Version: sidecar.Version, Name: "contract.pdf", Size: uint64(len(original)), Salt: salt,
		Commitment: crypto.Commitment(salt, original), Chain: "LOAN-1", Step: 2, Pos: 0, Kind: "loan-contract",
		Labels: map[string]string{"product": "consumer-loan"}, Status: sidecar.StatusPending, TxID: crypto.SM3([]byte("tx")),
		ChainID: "evidenced-dev"}
	f.MarkCommitted(7, 3, time.Date(2026, 11, 27, 11, 0, 1, 0, time.FixedZone("CST", 8*3600)))
	return f
}

// goldenCommitted is committed() as Format writes it: the bytes the CLI
// has always written, field for field.
const goldenCommitted = `{
  "version": 1,
  "file": "contract.pdf",
  "size": 14,
  "salt": "abababababababababababababababababababababababababababababababab",
  "commitment": "COMMITMENT",
  "chain": "LOAN-1",
  "step": 2,
  "pos": 0,
  "kind": "loan-contract",
  "labels": {
    "product": "consumer-loan"
  },
  "status": "committed",
  "tx_id": "TXID",
  "index": 7,
  "height": 3,
  "time": "2026-11-27T03:00:01Z",
  "chain_id": "evidenced-dev"
}
`

func TestFormat(t *testing.T) {
	f := committed()
	want := strings.NewReplacer("COMMITMENT", f.Commitment.String(), "TXID", f.TxID.String()).Replace(goldenCommitted)
	got, err := sidecar.Format(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	back, err := sidecar.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, f) {
		t.Errorf("Parse(Format(f)) = %+v, want %+v", back, f)
	}
}

func TestFormatKept(t *testing.T) {
	f := committed()
	f.Kept = &sidecar.Kept{Cipher: crypto.SM3([]byte("ciphertext")), CipherSize: 62, Owner: "bank-a"}
	got, err := sidecar.Format(f)
	if err != nil {
		t.Fatal(err)
	}
	wantTail := `  "chain_id": "evidenced-dev",
  "cipher": "` + f.Cipher.String() + `",
  "cipher_size": 62,
  "owner": "bank-a"
}
`
	if !strings.HasSuffix(string(got), wantTail) {
		t.Errorf("Format = \n%s\nwant it to end with\n%s", got, wantTail)
	}
	back, err := sidecar.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, f) {
		t.Errorf("Parse(Format(f)) = %+v, want %+v", back, f)
	}
	// A sidecar without a kept original has no cipher fields.
	f.Kept = nil
	if got, _ = sidecar.Format(f); bytes.Contains(got, []byte("cipher")) {
		t.Errorf("Format without Kept writes a cipher field:\n%s", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", ``, "not a sidecar file"},
		{"not JSON", `salt=00`, "not a sidecar file"},
		{"array", `[1]`, "not a sidecar file"},
		{"trailing data", `{"version":1,"salt":"00"} {}`, "not a sidecar file"},
		{"bad salt hex", `{"version":1,"salt":"0g"}`, "not a sidecar file"},
		{"bad commitment", `{"version":1,"salt":"00","commitment":"00"}`, "not a sidecar file"},
		{"no version", `{"salt":"00"}`, "version 0 is not supported"},
		{"version 2", `{"version":2,"salt":"00"}`, "version 2 is not supported"},
		{"no salt", `{"version":1}`, "holds no salt"},
		{"empty salt", `{"version":1,"salt":""}`, "holds no salt"},
		{"too large", `{"version":1,"salt":"00","file":"` + strings.Repeat("a", sidecar.MaxSize) + `"}`, "more than the 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := sidecar.Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %+v, %v; want an error containing %q", f, err, tc.want)
			}
		})
	}
}

func TestParseIgnoresUnknownFields(t *testing.T) {
	f, err := sidecar.Parse([]byte(`{"version":1,"salt":"0A0b","note":"kept by hand"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Salt, []byte{0x0a, 0x0b}) || f.Kept != nil {
		t.Errorf("Parse = %+v, want salt 0a0b and no kept original", f)
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := sidecar.Path(filepath.Join(dir, "contract.pdf"))
	if want := filepath.Join(dir, "contract.pdf.evidence.json"); path != want {
		t.Fatalf("Path = %s, want %s", path, want)
	}
	f := committed()
	if err := sidecar.SaveNew(path, f); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := sidecar.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("Load = %+v, want %+v", got, f)
	}
	// SaveNew never replaces; Save does.
	other := committed()
	other.Step = 3
	if err := sidecar.SaveNew(path, other); !errors.Is(err, fs.ErrExist) {
		t.Errorf("SaveNew over an existing sidecar: %v, want fs.ErrExist", err)
	}
	if got, err := sidecar.Load(path); err != nil || got.Step != 2 {
		t.Errorf("after a refused SaveNew, Load = %+v, %v; want step 2", got, err)
	}
	if err := sidecar.Save(path, other); err != nil {
		t.Fatal(err)
	}
	if got, err := sidecar.Load(path); err != nil || got.Step != 3 {
		t.Errorf("after Save, Load = %+v, %v; want step 3", got, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.evidence.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte{' '}, sidecar.MaxSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.evidence.json")
	if err := os.WriteFile(bad, []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.evidence.json"), "read the sidecar: open "},
		{"too large", big, "big.evidence.json: 65537 bytes, more than"},
		{"no salt", bad, "bad.evidence.json: the sidecar holds no salt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sidecar.Load(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseSalt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		err  string
	}{
		{"0a0B", []byte{0x0a, 0x0b}, ""},
		{"  ff\n", []byte{0xff}, ""},
		{"", nil, "no salt given"},
		{" ", nil, "no salt given"},
		{"xyz", nil, `salt "xyz" is not hex digits`},
		{"abc", nil, `salt "abc" is not hex digits`},
	} {
		got, err := sidecar.ParseSalt(tc.in)
		switch {
		case tc.err == "" && (err != nil || !bytes.Equal(got, tc.want)):
			t.Errorf("ParseSalt(%q) = %x, %v; want %x", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseSalt(%q) = %x, %v; want an error containing %q", tc.in, got, err, tc.err)
		}
	}
	if _, err := sidecar.ParseSalt(""); !errors.Is(err, sidecar.ErrNoSalt) {
		t.Errorf("ParseSalt(\"\") = %v, want ErrNoSalt", err)
	}
}

func TestNewSalt(t *testing.T) {
	s, err := sidecar.NewSalt(bytes.NewReader(bytes.Repeat([]byte{7}, 40)))
	if err != nil || !bytes.Equal(s, bytes.Repeat([]byte{7}, crypto.SaltSize)) {
		t.Errorf("NewSalt = %x, %v; want 32 bytes of 07", s, err)
	}
	if _, err := sidecar.NewSalt(bytes.NewReader(make([]byte, crypto.SaltSize-1))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("NewSalt from a short reader: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestCommit(t *testing.T) {
	salt := []byte("0123456789abcdef0123456789abcdef")
	for _, size := range []int{0, 1, 32<<10 - 1, 32 << 10, 1<<20 + 3} {
		data := bytes.Repeat([]byte("evidence"), size/8+1)[:size]
		got, n, err := sidecar.Commit(salt, iotest.OneByteReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		if want := crypto.Commitment(salt, data); got != want || n != uint64(size) {
			t.Errorf("Commit over %d bytes = %s, %d; want %s, %d", size, got, n, want, size)
		}
	}
	boom := errors.New("disk gone")
	_, n, err := sidecar.Commit(salt, io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || n != 3 || !strings.Contains(err.Error(), "after 3 bytes") {
		t.Errorf("Commit over a failing reader = %d, %v; want 3 bytes and the read error", n, err)
	}
}
