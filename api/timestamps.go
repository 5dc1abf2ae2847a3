package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/ledger"
)

// The token of a stamped checkpoint: GET /v1/checkpoints/{height}/timestamp
// (JSON) and GET /v1/checkpoints/{height}/timestamp/token (the DER token,
// for openssl ts -verify -token_in). The first token the ledger accepted
// for a checkpoint is kept, so both answers are immutable.

// stampedCheckpoint reads the token of the checkpoint the request's
// {height} names.
func (s *server) stampedCheckpoint(r *http.Request, then func(ti *ledger.TimestampInfo) error) error {
	raw := r.PathValue("height")
	h, err := ParseDecimal(raw, 63)
	if err != nil {
		return badRequest("height", "height %q is not a block height: use a decimal number", raw)
	}
	return s.withView(func(v *ledger.View) error {
		ti, err := v.Timestamp(int64(h))
		if errors.Is(err, ledger.ErrNotFound) {
			e := notFound("height", "no time-stamp token stamps the checkpoint of height %d", h)
			e.body.Hint = "not every trusted checkpoint is stamped, and a new one is stamped a little after it is trusted: retry later, or use a later checkpoint"
			return e
		}
		if err != nil {
			return err
		}
		return then(ti)
	})
}

func (s *server) timestamp(w http.ResponseWriter, r *http.Request) error {
	return s.stampedCheckpoint(r, func(ti *ledger.TimestampInfo) error {
		s.writeJSON(w, http.StatusOK, cacheImmutable, timestampJSON(ti))
		return nil
	})
}

func (s *server) timestampToken(w http.ResponseWriter, r *http.Request) error {
	return s.stampedCheckpoint(r, func(ti *ledger.TimestampInfo) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", cacheImmutable)
		w.Header().Set("Content-Length", strconv.Itoa(len(ti.Token)))
		w.Header().Set("Content-Disposition", `attachment; filename="checkpoint-`+strconv.FormatInt(ti.Height, 10)+`.tst"`)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(ti.Token)
		}
		return nil
	})
}

func timestampJSON(ti *ledger.TimestampInfo) *client.Timestamp {
	return &client.Timestamp{Height: ti.Height, Accepted: ti.Accepted, TSA: ti.TSA, GenTime: ti.GenTime.UTC(), Serial: ti.Serial, Hash: ti.Hash, Token: ti.Token}
}
