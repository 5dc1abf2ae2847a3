package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Retrieval requests (调取; docs/ARCHITECTURE.md, "Retrieval requests"). A
// court or arbitration member files a request (tx_request.go) for a record
// or an evidence chain of another member; its owner answers it once, with
// a grant naming it (Grant.Request, tx_grant.go) or a refusal
// (tx_refuse.go). This file holds what they share: the stored request
// records, their indexes and the queries over them.

// RequestStatus is where a retrieval request stands.
type RequestStatus uint8

// Request statuses. The numbers are stored in state.
const (
	RequestOpen    RequestStatus = 0 // not answered yet
	RequestGranted RequestStatus = 1 // answered with a grant
	RequestRefused RequestStatus = 2 // answered with a refusal
)

// String returns the status's name in the API and the CLI.
func (s RequestStatus) String() string {
	switch s {
	case RequestOpen:
		return "open"
	case RequestGranted:
		return "granted"
	case RequestRefused:
		return "refused"
	}
	return fmt.Sprintf("status_%d", uint8(s))
}

// requestRecord is the stored form of a request ('F' ‖ entry): u8-prefixed
// requester ‖ u8-prefixed owner ‖ u8 status ‖ u64 answering entry (0 while
// open: entry 0 is genesis, never an answer).
type requestRecord struct {
	Requester, Owner string
	Status           RequestStatus
	Answer           uint64
}

func (r *requestRecord) encode() []byte {
	var b cryptobyte.Builder
	addString8(&b, r.Requester)
	addString8(&b, r.Owner)
	b.AddUint8(uint8(r.Status))
	b.AddUint64(r.Answer)
	return b.BytesOrPanic()
}

func decodeRequestRecord(v []byte) (*requestRecord, error) {
	s := cryptobyte.String(v)
	r := &requestRecord{}
	var st uint8
	if !readString8(&s, &r.Requester) || !readString8(&s, &r.Owner) || !s.ReadUint8(&st) || !s.ReadUint64(&r.Answer) || !s.Empty() || st > uint8(RequestRefused) {
		return nil, fmt.Errorf("%w: request record does not decode", ErrStoreCorrupt)
	}
	r.Status = RequestStatus(st)
	return r, nil
}

// keyMemberIndex is p ‖ u8-prefixed member ‖ u64 entry.
func keyMemberIndex(p byte, member string, entry uint64) []byte {
	return binary.BigEndian.AppendUint64(keyString8(p, member), entry)
}

func (s *state) request(index uint64) (*requestRecord, error) {
	v, found, err := s.get(keyU64(prefixRequest, index))
	if err != nil || !found {
		return nil, err
	}
	return decodeRequestRecord(v)
}

// answerRequest closes the request of entry index with status, answered by
// entry answer.
func (s *state) answerRequest(index uint64, status RequestStatus, answer uint64) error {
	rr, err := s.request(index)
	if err != nil {
		return err
	}
	if rr == nil {
		return fmt.Errorf("%w: request %d vanished between check and stage", ErrStoreCorrupt, index)
	}
	rr.Status, rr.Answer = status, answer
	s.set(keyU64(prefixRequest, index), rr.encode())
	return nil
}

// ErrNotRequest is wrapped by View.Request when the entry holds no request.
var ErrNotRequest = errors.New("not a retrieval request")

// RequestInfo is a retrieval request as committed, with its state.
type RequestInfo struct {
	Entry     uint64  // the request's log entry: its id
	Requester string  // the court or arbitration member that filed it
	Owner     string  // the member that owns what it names, who answers it
	Request   Request // what it names and why
	Status    RequestStatus
	Answer    uint64 // the grant or refusal that answered it, when not open
	Reason    string // the refusal's reason, when refused
}

// Request returns the retrieval request filed at log entry index.
func (v *View) Request(index uint64) (*RequestInfo, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	rr, err := v.s.request(index)
	if err != nil {
		return nil, err
	}
	if rr == nil {
		return nil, fmt.Errorf("entry %d: %w: %w", index, ErrNotRequest, ErrNotFound)
	}
	_, tx, err := v.Entry(index)
	if err != nil {
		return nil, err
	}
	req, ok := tx.Body.Payload.(*Request)
	if !ok {
		return nil, fmt.Errorf("%w: request record %d names a %s entry", ErrStoreCorrupt, index, tx.Body.Type())
	}
	info := &RequestInfo{Entry: index, Requester: rr.Requester, Owner: rr.Owner, Request: *req, Status: rr.Status, Answer: rr.Answer}
	if rr.Status == RequestRefused {
		_, atx, err := v.Entry(rr.Answer)
		if err != nil {
			return nil, err
		}
		ref, ok := atx.Body.Payload.(*Refusal)
		if !ok {
			return nil, fmt.Errorf("%w: request %d names refusal %d, a %s entry", ErrStoreCorrupt, index, rr.Answer, atx.Body.Type())
		}
		info.Reason = ref.Reason
	}
	return info, nil
}

// RequestFilter selects retrieval requests for View.Requests.
type RequestFilter struct {
	Requester string // only those this member filed ("": any)
	Owner     string // only those for this member's records ("": any); with Requester, both must hold
	Open      bool   // only those not answered yet
	From      uint64 // from this entry on
	Limit     int    // at most this many
}

// maxRequestScan bounds the request records one Requests call reads.
const maxRequestScan = 10000

// Requests returns the entries of up to f.Limit retrieval requests, oldest
// first, that f selects. It reads at most maxRequestScan request records
// past f.From, so a sparse selection may end early: page on from the last
// entry returned + 1.
func (v *View) Requests(f RequestFilter) ([]uint64, error) {
	if f.Limit <= 0 {
		return []uint64{}, nil
	}
	prefix, what := key1(prefixRequest), "requests"
	switch {
	case f.Requester != "":
		prefix, what = keyString8(prefixRequestBy, f.Requester), "requests by "+f.Requester
	case f.Owner != "":
		prefix, what = keyString8(prefixRequestTo, f.Owner), "requests to "+f.Owner
	}
	out := []uint64{}
	start := binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), f.From)
	for scanned := 0; scanned < maxRequestScan && len(out) < f.Limit; {
		batch := min(256, maxRequestScan-scanned)
		idx, err := v.entriesUnder(prefix, start, batch, what)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			rr, err := v.s.request(i)
			if err != nil {
				return nil, err
			}
			if rr == nil {
				return nil, fmt.Errorf("%w: %s index names entry %d, which holds no request", ErrStoreCorrupt, what, i)
			}
			if (f.Open && rr.Status != RequestOpen) || (f.Owner != "" && rr.Owner != f.Owner) || (f.Requester != "" && rr.Requester != f.Requester) {
				continue
			}
			if out = append(out, i); len(out) == f.Limit {
				break
			}
		}
		scanned += len(idx)
		if len(idx) < batch {
			break
		}
		start = binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), idx[len(idx)-1]+1)
	}
	return out, nil
}
