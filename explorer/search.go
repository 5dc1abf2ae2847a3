package explorer

import (
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"strings"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// query is what a search box text can mean. Several readings may hold at
// once: a decimal is a height and an entry index (and could be a chain
// id), 64 hex digits a transaction id and a commitment.
type query struct {
	Text string // the text, trimmed

	Number   uint64 // a height (when it fits int64) and an entry index
	IsNumber bool

	Hash   crypto.Hash // a transaction id or a commitment
	IsHash bool

	Ref   recordRef // INDEX.POS
	IsRef bool

	Chain bool // Text is a well-formed evidence-chain id
	Name  bool // Text is a well-formed member name
}

// maxQuery bounds the text the search reads: the longest thing it accepts
// is 64 characters.
const maxQuery = 256

// parseQuery reads a search box text.
func parseQuery(s string) query {
	q := query{Text: strings.TrimSpace(s)}
	if len(q.Text) > maxQuery {
		return q // nothing so long names anything
	}
	if n, ok := parseIndex(q.Text); ok {
		q.Number, q.IsNumber = n, true
	}
	if h, ok := parseHash(q.Text); ok {
		q.Hash, q.IsHash = h, true
	}
	if r, ok := parseRecordID(q.Text); ok && strings.Contains(q.Text, ".") {
		q.Ref, q.IsRef = r, true
	}
	q.Chain = ledger.ValidChainID(q.Text)
	q.Name = validName(q.Text)
	return q
}

// parseIndex parses an entry index: decimal digits, no sign, no leading
// zero (api.ParseDecimal, as the API reads them).
func parseIndex(s string) (uint64, bool) {
	n, err := api.ParseDecimal(s, 64)
	return n, err == nil
}

// parseHeight parses a block height as parseIndex does, at most MaxInt64.
func parseHeight(s string) (int64, bool) {
	n, err := api.ParseDecimal(s, 63)
	return int64(n), err == nil
}

// parseHash parses 64 hex digits, either case.
func parseHash(s string) (crypto.Hash, bool) {
	var h crypto.Hash
	if len(s) != 2*crypto.HashSize {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, false
	}
	return h, true
}

// parseRecordID parses a record id of the explorer's pages: INDEX, or
// INDEX.POS (api.ParseRecordID without the transaction-id forms).
func parseRecordID(s string) (recordRef, bool) {
	id, err := api.ParseRecordID(s)
	if err != nil || id.ByTx {
		return recordRef{}, false
	}
	return recordRef{Index: id.Ref.Index, Pos: id.Ref.Pos}, true
}

// validName reports whether s is a member name as the ledger accepts one.
func validName(s string) bool { return ledger.ValidIdent(s, ledger.MaxNameLen) }

func hexString(b []byte) string { return hex.EncodeToString(b) }

// searchData is the search page.
type searchData struct {
	Text    string
	Results []searchResult // several matches; none when NotFound
	Empty   bool           // nothing was asked
}

// searchResult is one thing a query matched.
type searchResult struct {
	Kind  string // catalog key of what it is
	Label string
	URL   string
}

func (s *server) search(rq *request) error {
	q := parseQuery(rq.r.URL.Query().Get("q"))
	d := &searchData{Text: clip(q.Text), Empty: q.Text == ""}
	if !d.Empty {
		err := s.withView(func(v *ledger.View, _ int64) error {
			var err error
			d.Results, err = find(v, q)
			return err
		})
		if err != nil {
			return err
		}
	}
	if len(d.Results) == 1 {
		http.Redirect(rq.w, rq.r, d.Results[0].URL, http.StatusSeeOther)
		return nil
	}
	rq.render(http.StatusOK, "search", rq.T("search.title"), d)
	return nil
}

// find returns what q names on v, in a fixed order: block, entry, record,
// transaction, commitment, chain, member.
func find(v *ledger.View, q query) ([]searchResult, error) {
	var out []searchResult
	// found turns ErrNotFound into false.
	found := func(err error) (bool, error) {
		if errors.Is(err, ledger.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	if q.IsNumber {
		if q.Number <= math.MaxInt64 {
			_, err := v.Block(int64(q.Number))
			if ok, err := found(err); err != nil {
				return nil, err
			} else if ok {
				out = append(out, searchResult{Kind: "search.kind.block", Label: q.Text, URL: blockURL(int64(q.Number))})
			}
		}
		_, err := v.EntryBytes(q.Number)
		if ok, err := found(err); err != nil {
			return nil, err
		} else if ok {
			out = append(out, searchResult{Kind: "search.kind.entry", Label: q.Text, URL: entryURL(q.Number)})
		}
	}
	if q.IsRef {
		_, _, _, err := v.Record(q.Ref.ledger())
		if ok, err := found(err); err != nil {
			return nil, err
		} else if ok {
			out = append(out, searchResult{Kind: "search.kind.record", Label: q.Ref.ID(), URL: q.Ref.URL()})
		}
	}
	if q.IsHash {
		_, err := v.IndexOfTx(q.Hash)
		if ok, err := found(err); err != nil {
			return nil, err
		} else if ok {
			out = append(out, searchResult{Kind: "search.kind.tx", Label: q.Hash.String(), URL: "/explorer/txs/" + q.Hash.String()})
		}
		refs, err := v.ByCommitment(q.Hash, searchMatches)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			ref := refOf(r)
			out = append(out, searchResult{Kind: "search.kind.commitment", Label: ref.ID(), URL: ref.URL()})
		}
	}
	if q.Chain {
		_, err := v.Chain(q.Text)
		if ok, err := found(err); err != nil {
			return nil, err
		} else if ok {
			out = append(out, searchResult{Kind: "search.kind.chain", Label: q.Text, URL: chainURL(q.Text)})
		}
	}
	if q.Name {
		_, err := v.Member(q.Text)
		if ok, err := found(err); err != nil {
			return nil, err
		} else if ok {
			out = append(out, searchResult{Kind: "search.kind.member", Label: q.Text, URL: memberURL(q.Text)})
		}
	}
	return out, nil
}
