package tsa

import (
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
)

// Media types of RFC 3161 §3.4.
const (
	QueryType = "application/timestamp-query"
	ReplyType = "application/timestamp-reply"
)

// Handler serves RFC 3161 over HTTP (§3.4): a POST of a TimeStampReq with
// Content-Type application/timestamp-query, bounded to 64 KiB, answered with a
// TimeStampResp as application/timestamp-reply. Another method gets 405, another
// content type 415, a larger body 413; a request that does not parse gets a
// response with status rejection (200), never a 500 and never a panic. The time
// comes from the clock SetClock installed.
func (a *Authority) Handler() http.Handler {
	return http.HandlerFunc(a.serveHTTP)
}

func (a *Authority) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a TimeStampReq (application/timestamp-query)", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != QueryType {
		http.Error(w, "Content-Type must be "+QueryType, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request larger than 64 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	now, log := a.clock(), a.log
	a.mu.Unlock()
	resp, info, err := a.sign(body, now)
	if err != nil {
		if log != nil {
			log.Error("time-stamp signing failed", "err", err)
		}
		resp = rejection(failSystemFailure, "signing failed")
	}
	if log != nil {
		if info != nil {
			log.Info("time-stamped", "serial", info.SerialNumber.Text(16), "gen_time", info.GenTime,
				"imprint", hex.EncodeToString(info.MessageImprint.HashedMessage[:8]), "from", r.RemoteAddr)
		} else if err == nil {
			log.Warn("time-stamp request rejected", "from", r.RemoteAddr, "bytes", len(body))
		}
	}
	w.Header().Set("Content-Type", ReplyType)
	_, _ = w.Write(resp)
}
