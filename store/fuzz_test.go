package store

import (
	"bytes"
	"slices"
	"testing"

	"github.com/evidenced/evidenced/ledger"
)

// FuzzScan checks Commit, Get and Scan against a sorted-map model. data is
// read as: prefix length and bytes, start length and bytes, limit, then a
// sequence of (key length, key bytes, op) where op's low bit chooses delete.
// Key bytes are folded onto a small alphabet that includes 0x00, 0x01, 0xfe
// and 0xff so prefixes, boundaries and the reserved range are hit often.
func FuzzScan(f *testing.F) {
	f.Add([]byte{1, 'E', 0, 5, 2, 'E', 1, 0, 2, 'E', 2, 0, 1, 'F', 0})
	f.Add([]byte{1, 0xff, 1, 0xff, 10, 1, 0xff, 0, 2, 0xff, 0xff, 0, 2, 0xfe, 0xff, 0, 3, 0xff, 0xff, 0xff, 0})
	f.Add([]byte{0, 0, 3, 2, 'E', 1, 0, 2, 'E', 1, 1, 2, 'E', 2, 0})
	db := openMem(f)
	height := int64(-1)
	alphabet := []byte{0x00, 0x01, 0x02, 'E', 'F', 0x7f, 0x80, 0xfe, 0xff}
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() (byte, bool) {
			if len(data) == 0 {
				return 0, false
			}
			b := data[0]
			data = data[1:]
			return b, true
		}
		str := func() ([]byte, bool) {
			n, ok := next()
			if !ok {
				return nil, false
			}
			var s []byte
			for range n % 5 {
				b, ok := next()
				if !ok {
					return s, false
				}
				s = append(s, alphabet[int(b)%len(alphabet)])
			}
			return s, true
		}
		prefix, _ := str()
		start, _ := str()
		l, _ := next()
		limit := int(l%16) - 1

		model := map[string][]byte{}
		var changes []ledger.KV
		reserved := false
		for len(data) > 0 {
			key, _ := str()
			op, _ := next()
			if len(key) == 0 || key[0] == 0x00 {
				reserved = true
			}
			if op&1 == 1 {
				changes = append(changes, ledger.KV{Key: key, Delete: true})
				delete(model, string(key))
			} else {
				v := []byte{op, byte(len(changes))}
				changes = append(changes, ledger.KV{Key: key, Value: v})
				model[string(key)] = v
			}
		}
		err := db.Commit(Commit{Height: height + 1, Changes: changes})
		if reserved {
			if err == nil {
				t.Fatal("commit with a reserved or empty key succeeded")
			}
			return
		}
		if err != nil {
			t.Fatalf("Commit: %v", err)
		}
		height++
		// Leave the store empty for the next input.
		defer func() {
			var cleanup []ledger.KV
			for key := range model {
				cleanup = append(cleanup, ledger.KV{Key: []byte(key), Delete: true})
			}
			if err := db.Commit(Commit{Height: height + 1, Changes: cleanup}); err != nil {
				t.Fatalf("cleanup commit: %v", err)
			}
			height++
		}()

		for key, v := range model {
			got, found, err := db.Get([]byte(key))
			if err != nil || !found || !bytes.Equal(got, v) {
				t.Fatalf("Get(%x) = %x, %v, %v; want %x", key, got, found, err, v)
			}
		}
		got, err := db.Scan(prefix, start, limit)
		if len(prefix) > 0 && prefix[0] == 0x00 {
			if err == nil {
				t.Fatal("Scan of the reserved prefix succeeded")
			}
			return
		}
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		var want []string
		for key := range model {
			if bytes.HasPrefix([]byte(key), prefix) && key >= string(start) {
				want = append(want, key)
			}
		}
		slices.Sort(want)
		want = want[:max(0, min(len(want), limit))]
		if len(got) != len(want) {
			t.Fatalf("Scan(%x, %x, %d) = %d pairs, want %d", prefix, start, limit, len(got), len(want))
		}
		for i, kv := range got {
			if string(kv.Key) != want[i] || !bytes.Equal(kv.Value, model[want[i]]) {
				t.Fatalf("Scan pair %d = %x=%x, want %x=%x", i, kv.Key, kv.Value, want[i], model[want[i]])
			}
		}
	})
}
