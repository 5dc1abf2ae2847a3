package ledger_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/ledger/ledgertest"
)

// logKey is a key of the log's layout (ledger/keys.go): 'E' or 'H' ‖ u64.
func logKey(prefix byte, i uint64) []byte { return binary.BigEndian.AppendUint64([]byte{prefix}, i) }

func TestVerifyLog(t *testing.T) {
	f := newFixture(t)
	bank := f.a.Key("bank-a")
	for b := range 7 {
		var txs [][]byte
		for i := range b + 1 {
			txs = append(txs, f.a.Evidence(bank, f.now, rec(fmt.Sprintf("V-%d-%d", b, i), 1, crypto.Hash{}, "x")))
		}
		f.block(txs...)
	}
	head, err := ledger.VerifyLog(f.st)
	if err != nil {
		t.Fatalf("VerifyLog of an intact log: %v", err)
	}
	if want, _ := f.view().Head(); head != want {
		t.Fatalf("VerifyLog returned head %+v, want %+v", head, want)
	}
	if head.Size < 30 {
		t.Fatalf("the log has %d entries, want at least 30", head.Size)
	}
	last := head.Size - 1
	cases := []struct {
		name   string
		change ledger.KV
	}{
		{"an entry changed", ledger.KV{Key: logKey('E', 3), Value: []byte("forged entry")}},
		{"an entry missing", ledger.KV{Key: logKey('E', last), Delete: true}},
		{"an entry beyond the log", ledger.KV{Key: logKey('E', head.Size), Value: []byte("extra")}},
		{"a leaf hash changed", ledger.KV{Key: logKey('H', 0), Value: bytes.Repeat([]byte{1}, crypto.HashSize)}},
		{"an inner hash changed", ledger.KV{Key: logKey('H', 2), Value: bytes.Repeat([]byte{2}, crypto.HashSize)}},
		{"a hash missing", ledger.KV{Key: logKey('H', 5), Delete: true}},
		{"a hash beyond the log", ledger.KV{Key: logKey('H', 1<<40), Value: bytes.Repeat([]byte{3}, crypto.HashSize)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := ledgertest.NewMemStore()
			kvs, err := f.st.Scan(nil, nil, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			st.Commit(kvs)
			st.Commit([]ledger.KV{tc.change})
			if _, err := ledger.VerifyLog(st); !errors.Is(err, ledger.ErrStoreCorrupt) {
				t.Fatalf("VerifyLog: %v, want ErrStoreCorrupt", err)
			}
		})
	}
	if _, err := ledger.VerifyLog(ledgertest.NewMemStore()); !errors.Is(err, ledger.ErrNotInitialized) {
		t.Fatalf("VerifyLog of an empty store: %v, want ErrNotInitialized", err)
	}
}
