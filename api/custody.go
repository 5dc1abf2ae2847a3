package api

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
)

// GrantRequest asks the node's member, the owner of the records, to grant
// another member access to originals: one record (Ref) or every record with
// an original of an evidence chain (Chain).
type GrantRequest struct {
	Ref     *ledger.RecordRef
	Chain   string
	Grantee string
	Purpose string
	Expiry  time.Time // zero: until revoked
	Request uint64    // the retrieval request it answers (its entry); 0: none
}

// Fetched describes an original a Custodian wrote.
type Fetched struct {
	Ref    ledger.RecordRef
	Record ledger.Record
	Size   int64  // plaintext bytes written
	Access uint64 // the access entry that logged the retrieval
	Grant  uint64 // the grant used, when Via
	Via    bool   // through a grant (false: as the owner)
	From   string // the member node that served the ciphertext; "" when held locally
	Salt   []byte // the commitment salt, from the member's wrapped key: the caller may know it
}

// Custodian is implemented by a Backend whose node keeps originals and
// exchanges them with the other members. The grant, revoke and original
// endpoints answer 501 without it.
type Custodian interface {
	// Grant signs and submits a grant with the node's member key, waiting
	// for its commit.
	Grant(ctx context.Context, req GrantRequest) (*Committed, error)
	// Revoke signs and submits the revocation of the grant at entry index.
	Revoke(ctx context.Context, index uint64) (*Committed, error)
	// FetchOriginal logs the access on chain, gets the ciphertext, and
	// writes the checked plaintext of ref to w.
	FetchOriginal(ctx context.Context, ref ledger.RecordRef, w io.Writer) (*Fetched, error)
}

// ErrNotCustodian answers the custody endpoints of a node without originals.
var errNotCustodian = newError(http.StatusNotImplemented, "not_implemented", "",
	"this node keeps no originals: set originals.listen in its evidenced.toml")

func (s *server) custodian() (Custodian, error) {
	c, ok := s.b.(Custodian)
	if !ok {
		return nil, errNotCustodian
	}
	return c, nil
}

// resolveRecord turns an {id} into a committed record's ref (400, 404).
func (s *server) resolveRecord(v *ledger.View, raw string) (ledger.RecordRef, error) {
	id, err := recordParam(raw)
	if err != nil {
		return ledger.RecordRef{}, err
	}
	return s.findRecord(v, id)
}

// grantBody is the JSON body of POST /v1/grants.
type grantBody struct {
	Record  string `json:"record,omitempty"`
	Chain   string `json:"chain,omitempty"`
	Grantee string `json:"grantee"`
	Purpose string `json:"purpose"`
	Expires string `json:"expires,omitempty"`
	Request uint64 `json:"request,omitempty"`
}

// grant is POST /v1/grants.
func (s *server) grant(w http.ResponseWriter, r *http.Request) error {
	c, err := s.custodian()
	if err != nil {
		return err
	}
	var gb grantBody
	if err := s.readJSON(w, r, &gb, `a grant request: send {"record" or "chain", "grantee", "purpose", optional "expires"}`); err != nil {
		return err
	}
	if gb.Request != 0 {
		// A grant answering a request: what is not given comes from it.
		if err := s.withView(func(v *ledger.View) error {
			ri, err := v.Request(gb.Request)
			if err != nil {
				return requestError(err, gb.Request)
			}
			if gb.Record == "" && gb.Chain == "" {
				if gb.Chain = ri.Request.Chain; ri.Request.Record != nil {
					gb.Record = ri.Request.Record.String()
				}
			}
			if gb.Grantee == "" {
				gb.Grantee = ri.Requester
			}
			if gb.Purpose == "" {
				gb.Purpose = ri.Request.Purpose
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if (gb.Record == "") == (gb.Chain == "") {
		return badRequest("record", "name either one record (\"record\": \"12\") or one evidence chain (\"chain\")")
	}
	req := GrantRequest{Chain: gb.Chain, Grantee: gb.Grantee, Purpose: ledger.NormalizeText(gb.Purpose), Request: gb.Request}
	if gb.Expires != "" {
		t, err := time.Parse(time.RFC3339, gb.Expires)
		if err != nil {
			return badRequest("expires", "expires %q is not an RFC 3339 time such as 2027-01-31T00:00:00Z", gb.Expires)
		}
		if _, err := ledger.GrantExpiry(t); err != nil {
			return badRequest("expires", "%s", err.(*ledger.RejectError).Msg)
		}
		req.Expiry = t
	}
	if gb.Record != "" {
		if err := s.withView(func(v *ledger.View) error {
			ref, err := s.resolveRecord(v, gb.Record)
			req.Ref = &ref
			return err
		}); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.DefaultWait)
	defer cancel()
	res, err := c.Grant(ctx, req)
	return s.writeCommitted(w, res, err, ledger.TxGrant)
}

// revoke is POST /v1/grants/{index}/revoke.
func (s *server) revoke(w http.ResponseWriter, r *http.Request) error {
	c, err := s.custodian()
	if err != nil {
		return err
	}
	index, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		return badRequest("index", "grant %q is not an entry index", r.PathValue("index"))
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.DefaultWait)
	defer cancel()
	res, err := c.Revoke(ctx, index)
	return s.writeCommitted(w, res, err, ledger.TxRevoke)
}

// writeCommitted answers a transaction the node built and submitted.
func (s *server) writeCommitted(w http.ResponseWriter, c *Committed, err error, t ledger.TxType) error {
	if err != nil {
		var rej *ledger.RejectError
		if errors.As(err, &rej) {
			return rejection(rej, crypto.Hash{}, 0)
		}
		return backendError(err, crypto.Hash{})
	}
	s.writeJSON(w, http.StatusOK, cacheNone, client.SubmitResult{TxID: c.Result.ID, Status: client.StatusCommitted, Code: ledger.CodeOK,
		Index: c.Result.Index, Height: c.Height, Time: c.Time.UTC(), Signer: c.Result.Signer, Type: t.String(), Chains: []string{}})
	return nil
}

func grantJSON(g *ledger.GrantInfo) client.Grant {
	out := client.Grant{Index: g.Entry, Owner: g.Owner, Grantee: g.Grantee, Purpose: g.Purpose, Chain: g.Chain, Revoked: g.Revoked, Records: []string{}, Request: g.Request}
	if g.Expiry != 0 {
		t := time.Unix(0, g.Expiry).UTC()
		out.Expires = &t
	}
	if g.Revoked {
		out.RevokedAt = &g.RevokedAt
	}
	for _, k := range g.Keys {
		out.Records = append(out.Records, fmt.Sprintf("%d.%d", k.Ref.Index, k.Ref.Pos))
	}
	return out
}

// custody is GET /v1/evidence/{id}/custody: who was given and who took the
// original, in log order.
func (s *server) custody(w http.ResponseWriter, r *http.Request) error {
	return s.withView(func(v *ledger.View) error {
		ref, err := s.resolveRecord(v, r.PathValue("id"))
		if err != nil {
			return err
		}
		rec, _, _, err := v.Record(ref)
		if err != nil {
			return err
		}
		out := client.Custody{Record: fmt.Sprintf("%d.%d", ref.Index, ref.Pos), Events: []client.CustodyEvent{}}
		if ci, err := v.Chain(rec.Chain); err == nil {
			out.Owner = ci.Owner
		}
		if rec.Kept() {
			out.Cipher, out.CipherSize = rec.Cipher, rec.CipherSize
		}
		entries, err := v.Custody(ref, MaxLimit)
		if err != nil {
			return err
		}
		for _, idx := range entries {
			e, tx, err := v.Entry(idx)
			if err != nil {
				return err
			}
			m, err := v.MemberByKey(tx.Body.Signer)
			if err != nil {
				return err
			}
			ev := client.CustodyEvent{Index: idx, Type: tx.Body.Type().String(), Member: m.Name, Height: e.Height, Time: time.Unix(0, e.Time).UTC()}
			switch p := tx.Body.Payload.(type) {
			case *ledger.Grant:
				g, err := v.Grant(idx)
				if err != nil {
					return err
				}
				gj := grantJSON(g)
				ev.Grant = &gj
			case *ledger.Access:
				if p.ViaGrant {
					gi := p.Grant
					ev.ViaGrant = &gi
				}
			}
			out.Events = append(out.Events, ev)
		}
		s.writeJSON(w, http.StatusOK, cacheNone, out)
		return nil
	})
}

// countingWriter counts what reached the response.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// VerifiedTrailer is the HTTP trailer of GET /v1/evidence/{id}/original:
// "ok" once the whole original was written and matched the record's
// commitment. A client keeps the file only when it sees it.
const VerifiedTrailer = client.VerifiedTrailer

// original is GET /v1/evidence/{id}/original: the node logs the access on
// chain, gets the ciphertext and streams the checked plaintext.
func (s *server) original(w http.ResponseWriter, r *http.Request) error {
	c, err := s.custodian()
	if err != nil {
		return err
	}
	var ref ledger.RecordRef
	if err := s.withView(func(v *ledger.View) error {
		var err error
		ref, err = s.resolveRecord(v, r.PathValue("id"))
		return err
	}); err != nil {
		return err
	}
	w.Header().Set("Trailer", VerifiedTrailer+", "+client.AccessTrailer+", "+client.SaltTrailer)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", cacheNone)
	cw := &countingWriter{w: w}
	f, err := c.FetchOriginal(r.Context(), ref, cw)
	if err != nil {
		if cw.n > 0 {
			// Bytes are out: the status cannot change. Abort the response
			// so the client sees a broken transfer, without the trailer.
			s.log.Error("original failed its check while streaming", "record", fmt.Sprintf("%d.%d", ref.Index, ref.Pos), "err", err)
			panic(http.ErrAbortHandler)
		}
		w.Header().Del("Trailer")
		if errors.Is(err, ledger.ErrNotGranted) {
			e := newError(http.StatusForbidden, "no_grant", "id", "%v", err)
			e.body.Hint = "ask the record's owner for a grant"
			return e
		}
		var rej *ledger.RejectError
		if errors.As(err, &rej) {
			return rejection(rej, crypto.Hash{}, 0)
		}
		return backendError(err, crypto.Hash{})
	}
	if f.Size == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.Header().Set(client.AccessTrailer, strconv.FormatUint(f.Access, 10))
	w.Header().Set(client.SaltTrailer, hex.EncodeToString(f.Salt))
	w.Header().Set(VerifiedTrailer, "ok")
	return nil
}
