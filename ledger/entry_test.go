package ledger_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

func TestEntryEncoding(t *testing.T) {
	for _, e := range []ledger.Entry{
		{Height: 0, Time: 0, TxBytes: nil},
		{Height: 7, Time: -1, TxBytes: []byte("tx")},
		{Height: math.MaxInt64, Time: math.MinInt64, TxBytes: bytes.Repeat([]byte{1}, 70000)},
	} {
		b := e.Encode()
		// The documented layout: u8 1 ‖ u64 height ‖ i64 time ‖ u32-prefixed tx.
		want := []byte{ledger.EntryFormat}
		want = binary.BigEndian.AppendUint64(want, uint64(e.Height))
		want = binary.BigEndian.AppendUint64(want, uint64(e.Time))
		want = binary.BigEndian.AppendUint32(want, uint32(len(e.TxBytes)))
		want = append(want, e.TxBytes...)
		if !bytes.Equal(b, want) {
			t.Fatalf("Encode(%d, %d, %d bytes) is not the documented layout", e.Height, e.Time, len(e.TxBytes))
		}
		got, err := ledger.DecodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Height != e.Height || got.Time != e.Time || !bytes.Equal(got.TxBytes, e.TxBytes) {
			t.Fatalf("DecodeEntry(Encode(e)) = %d, %d, %d bytes; want %d, %d, %d bytes", got.Height, got.Time, len(got.TxBytes), e.Height, e.Time, len(e.TxBytes))
		}
		// RFC 9162 leaf hash: SM3 of 0x00 and the entry.
		if ledger.LeafHash(b) != crypto.SM3(append([]byte{0}, b...)) || ledger.LeafHash(b) == crypto.SM3(b) {
			t.Fatal("LeafHash is not SM3(0x00 ‖ entry)")
		}
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	good := (&ledger.Entry{Height: 3, Time: 42, TxBytes: []byte("tx")}).Encode()
	format := func(f byte) []byte { b := bytes.Clone(good); b[0] = f; return b }
	negative := bytes.Clone(good)
	binary.BigEndian.PutUint64(negative[1:], 1<<63)
	tests := map[string][]byte{
		"empty":             nil,
		"format 0":          format(0),
		"format 2":          format(2),
		"trailing byte":     append(bytes.Clone(good), 0),
		"negative height":   negative,
		"length past input": append(bytes.Clone(good[:17]), 0, 0, 0, 3, 't', 'x'),
	}
	for n := range len(good) {
		tests[fmt.Sprintf("truncated to %d bytes", n)] = good[:n]
	}
	for name, b := range tests {
		if e, err := ledger.DecodeEntry(b); !errors.Is(err, ledger.ErrMalformed) {
			t.Errorf("%s: DecodeEntry = %+v, %v; want ErrMalformed", name, e, err)
		}
	}
}

func TestEncodeBundleLimits(t *testing.T) {
	tx := sampleTxs(t)[0]
	full := make([][]byte, ledger.MaxBundleTxs)
	for i := range full {
		full[i] = tx
	}
	b, err := ledger.EncodeBundle(full)
	if err != nil {
		t.Fatalf("EncodeBundle of %d transactions: %v", len(full), err)
	}
	if !ledger.IsBundle(b) || ledger.IsBundle(tx) || ledger.IsBundle(nil) {
		t.Fatal("IsBundle does not tell a bundle from a transaction")
	}
	txs, err := ledger.DecodeBundle(b)
	if err != nil || len(txs) != ledger.MaxBundleTxs || !bytes.Equal(txs[ledger.MaxBundleTxs-1], tx) {
		t.Fatalf("DecodeBundle of a full bundle = %d transactions, %v", len(txs), err)
	}
	var re *ledger.RejectError
	if _, err := ledger.EncodeBundle(append(full, tx)); !errors.As(err, &re) || re.Code != ledger.CodeTooLarge {
		t.Fatalf("EncodeBundle of %d transactions = %v, want code %s", len(full)+1, err, ledger.CodeTooLarge)
	}
	for name, inner := range map[string][]byte{"empty transaction": {}, "format 0": {0, 1, 2}, "nil": nil} {
		if _, err := ledger.EncodeBundle([][]byte{tx, inner}); !errors.Is(err, ledger.ErrMalformed) {
			t.Errorf("EncodeBundle with a %s inside = %v, want ErrMalformed", name, err)
		}
	}
}

// TestEachTx: the log's view of a block's results, bundles expanded.
func TestEachTx(t *testing.T) {
	results := []ledger.TxResult{
		{Code: ledger.CodeOK, Index: 6},
		{Type: ledger.TxBundle, Code: ledger.CodeBundleRejected, Inner: []ledger.TxResult{
			{Code: ledger.CodeOK, Index: 7}, {Code: ledger.CodeDuplicate}, {Code: ledger.CodeOK, Index: 8},
		}},
		{Code: ledger.CodeMalformed},
		{Type: ledger.TxBundle, Code: ledger.CodeBundleRejected, Inner: []ledger.TxResult{{Code: ledger.CodeChainStep}}},
		{Code: ledger.CodeOK, Index: 9},
	}
	var got []ledger.Code
	var idx []uint64
	ledger.EachTx(results, func(r *ledger.TxResult) {
		got = append(got, r.Code)
		if r.Code == ledger.CodeOK {
			idx = append(idx, r.Index)
		}
	})
	want := []ledger.Code{ledger.CodeOK, ledger.CodeOK, ledger.CodeDuplicate, ledger.CodeOK, ledger.CodeMalformed, ledger.CodeChainStep, ledger.CodeOK}
	if !slices.Equal(got, want) || len(idx) != 4 || idx[0] != 6 || idx[1] != 7 || idx[2] != 8 || idx[3] != 9 {
		t.Fatalf("EachTx visits %v with entries %v, want %v with entries 6 7 8 9", got, idx, want)
	}
	for i, want := range []int{0, 2, 0, 0, 0} {
		if n := results[i].Accepted(); n != want {
			t.Errorf("results[%d].Accepted() = %d, want %d", i, n, want)
		}
	}
	ledger.EachTx(nil, func(*ledger.TxResult) { t.Fatal("EachTx(nil) called fn") })
}
