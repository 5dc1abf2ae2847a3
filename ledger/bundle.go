package ledger

import (
	"encoding/binary"

	"golang.org/x/crypto/cryptobyte"
)

// Bundle wire format (see docs/ARCHITECTURE.md):
//
//	Bundle = u8 format (=2) | u16 count (≥ 1) | count × u32-length-prefixed Tx
//
// A bundle carries many complete, individually signed transactions (format
// 1) in one CometBFT transaction, so consensus, gossip and mempool work is
// paid once per bundle instead of once per record. A bundle is transport
// only: it has no signature of its own and is never a log entry. Every inner
// transaction is validated and, if accepted, appended as its own log entry,
// exactly as if it had been submitted alone, in bundle order. Inner
// transactions may be evidence, batch or attest transactions; bundles do
// not nest.

// BundleFormat is the format byte of a bundle.
const BundleFormat = 2

// MaxBundleTxs is the most transactions one bundle may carry.
const MaxBundleTxs = 4096

// minBundleItem is the fewest bytes one transaction takes in a bundle: its
// u32 length and its format byte.
const minBundleItem = 4 + 1

// TxBundle is the TxType reported in results for a bundle. It is not a body
// type: no signed body carries it.
const TxBundle TxType = 255

// IsBundle reports whether b is (claims to be) a bundle rather than a single
// transaction.
func IsBundle(b []byte) bool { return len(b) > 0 && b[0] == BundleFormat }

// EncodeBundle packs transactions into a bundle. Each must be a single
// transaction's bytes (format 1); it fails on an empty list, too many
// transactions, or an inner bundle.
func EncodeBundle(txs [][]byte) ([]byte, error) {
	if len(txs) == 0 {
		return nil, malformed("a bundle must hold at least one transaction")
	}
	if len(txs) > MaxBundleTxs {
		return nil, reject(CodeTooLarge, "a bundle holds at most %d transactions, not %d: split it", MaxBundleTxs, len(txs))
	}
	// One allocation of the exact size: a growing builder would allocate
	// about ten times the bundle for a bundle of many small transactions.
	size := 1 + 2
	for i, tx := range txs {
		if len(tx) == 0 || tx[0] != TxFormat {
			return nil, malformed("bundle transaction %d is not a single format-%d transaction", i, TxFormat)
		}
		if uint64(len(tx)) > 1<<32-1 {
			return nil, reject(CodeTooLarge, "bundle transaction %d is %d bytes, more than a u32 length can say", i, len(tx))
		}
		size += 4 + len(tx)
	}
	b := make([]byte, 0, size)
	b = append(b, BundleFormat)
	b = binary.BigEndian.AppendUint16(b, uint16(len(txs)))
	for _, tx := range txs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(tx)))
		b = append(b, tx...)
	}
	return b, nil
}

// DecodeBundle splits a bundle into its transactions' bytes (sub-slices of
// b). It checks the framing only; each inner transaction is decoded and
// validated on its own. Errors are *RejectError values.
func DecodeBundle(b []byte) ([][]byte, error) {
	s := cryptobyte.String(b)
	var format uint8
	var n uint16
	if !s.ReadUint8(&format) || format != BundleFormat {
		return nil, reject(CodeMalformed, "not a bundle (format byte must be %d)", BundleFormat)
	}
	if !s.ReadUint16(&n) {
		return nil, reject(CodeMalformed, "bundle is truncated before its count")
	}
	if n == 0 {
		return nil, reject(CodeMalformed, "bundle holds no transactions")
	}
	if n > MaxBundleTxs {
		return nil, reject(CodeTooLarge, "bundle holds %d transactions, at most %d are allowed", n, MaxBundleTxs)
	}
	// Check the input can hold n transactions before allocating for them.
	if len(s) < int(n)*minBundleItem {
		return nil, reject(CodeMalformed, "bundle of %d transactions is truncated (%d bytes left, each takes at least %d)", n, len(s), minBundleItem)
	}
	txs := make([][]byte, n)
	for i := range txs {
		var tx cryptobyte.String
		if !readU32Prefixed(&s, &tx) {
			return nil, reject(CodeMalformed, "bundle is truncated in transaction %d of %d", i, n)
		}
		if len(tx) == 0 || tx[0] != TxFormat {
			return nil, reject(CodeMalformed, "bundle transaction %d is not a single format-%d transaction (bundles do not nest)", i, TxFormat)
		}
		txs[i] = tx
	}
	if !s.Empty() {
		return nil, reject(CodeMalformed, "%d trailing bytes after the bundle's last transaction", len(s))
	}
	return txs, nil
}

// Accepted counts the inner results of a bundle result that were accepted.
func (r *TxResult) Accepted() int {
	n := 0
	for i := range r.Inner {
		if r.Inner[i].Code == CodeOK {
			n++
		}
	}
	return n
}

// EachTx calls fn for every transaction result in results, in block order,
// with bundles expanded into their inner results: the log's view of a block.
func EachTx(results []TxResult, fn func(*TxResult)) {
	for i := range results {
		r := &results[i]
		if r.Type == TxBundle {
			for j := range r.Inner {
				fn(&r.Inner[j])
			}
			continue
		}
		fn(r)
	}
}
