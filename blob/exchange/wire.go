package exchange

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/evidenced/evidenced/crypto"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol IDs. A change to a frame layout gets a new version number.
const (
	// FetchProtocol is the libp2p protocol ID of a fetch.
	FetchProtocol protocol.ID = "/evidenced/blob/fetch/1"
	// PushProtocol is the libp2p protocol ID of a push.
	PushProtocol protocol.ID = "/evidenced/blob/push/1"
)

// status is the one-byte result code of a status header or final status.
type status uint8

const (
	statusOK         status = 0
	statusNotFound   status = 1
	statusForbidden  status = 2
	statusBusy       status = 3
	statusBadRequest status = 4
	statusMismatch   status = 5
	statusFailed     status = 6

	// noFinal is never sent: it marks "no final status" inside a host.
	noFinal status = 255
)

// maxMessage is the longest status message in bytes.
const maxMessage = 1024

const (
	addrSize        = crypto.HashSize
	u64Size         = 8
	pushRequestSize = addrSize + u64Size
	headerFixedSize = 1 + u64Size
)

func (s status) String() string {
	switch s {
	case statusOK:
		return "ok"
	case statusNotFound:
		return "not found"
	case statusForbidden:
		return "forbidden"
	case statusBusy:
		return "busy"
	case statusBadRequest:
		return "bad request"
	case statusMismatch:
		return "address mismatch"
	case statusFailed:
		return "failed"
	}
	return fmt.Sprintf("status %d", uint8(s))
}

// hasMessage reports whether a status header with status s carries a message.
func (s status) hasMessage() bool {
	return s == statusForbidden || s == statusBadRequest || s == statusFailed
}

// header is a status header: status, a number (size or offset, 0 unless the
// status is ok) and a message for the statuses that have one.
type header struct {
	Status status
	N      int64
	Msg    string
}

// refusal returns the error a requester reports for a response header
// that is not ok (nil when it is): notFound for statusNotFound, whose
// meaning depends on the protocol.
func (hd header) refusal(notFound error) error {
	switch hd.Status {
	case statusOK:
		return nil
	case statusNotFound:
		return notFound
	case statusForbidden:
		return fmt.Errorf("%w: %s", ErrForbidden, hd.Msg)
	case statusBusy:
		return ErrBusy
	case statusBadRequest:
		return fmt.Errorf("%w: peer says: %s", ErrProtocol, hd.Msg)
	}
	return fmt.Errorf("%w: %s", ErrPeerFailed, hd.Msg)
}

// okHeader returns the header that answers ok with n.
func okHeader(n int64) header { return header{Status: statusOK, N: n} }

// errHeader returns a refusal header with st and, if st carries one, msg
// cut to maxMessage bytes of valid UTF-8.
func errHeader(st status, msg string) header {
	if !st.hasMessage() {
		return header{Status: st}
	}
	return header{Status: st, Msg: cleanMessage(msg)}
}

// cleanMessage makes msg valid UTF-8 of at most maxMessage bytes, cutting at
// a rune boundary.
func cleanMessage(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut]
}

// encodeHeader returns the wire form of h. h must be canonical: as built by
// okHeader or errHeader, or returned by readHeader.
func encodeHeader(h header) []byte {
	b := make([]byte, headerFixedSize, headerFixedSize+2+len(h.Msg))
	b[0] = byte(h.Status)
	binary.BigEndian.PutUint64(b[1:], uint64(h.N))
	if h.Status.hasMessage() {
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.Msg)))
		b = append(b, h.Msg...)
	}
	return b
}

// readHeader reads one status header from r, reading exactly its bytes, and
// rejects unknown statuses, a non-zero n on a refusal, n > 2^63-1, and
// messages that are too long or not UTF-8.
func readHeader(r io.Reader) (header, error) {
	var fixed [headerFixedSize]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return header{}, fmt.Errorf("read status header: %w", err)
	}
	st := status(fixed[0])
	switch st {
	case statusOK, statusNotFound, statusForbidden, statusBusy, statusBadRequest, statusFailed:
	default:
		return header{}, fmt.Errorf("%w: unknown status %d in header", ErrProtocol, fixed[0])
	}
	n := binary.BigEndian.Uint64(fixed[1:])
	if n > math.MaxInt64 {
		return header{}, fmt.Errorf("%w: size or offset %d exceeds 2^63-1", ErrProtocol, n)
	}
	if st != statusOK && n != 0 {
		return header{}, fmt.Errorf("%w: %s header carries n = %d, want 0", ErrProtocol, st, n)
	}
	h := header{Status: st, N: int64(n)}
	if !st.hasMessage() {
		return h, nil
	}
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return header{}, fmt.Errorf("read status message length: %w", err)
	}
	ml := int(binary.BigEndian.Uint16(l[:]))
	if ml > maxMessage {
		return header{}, fmt.Errorf("%w: status message of %d bytes exceeds %d", ErrProtocol, ml, maxMessage)
	}
	msg := make([]byte, ml)
	if _, err := io.ReadFull(r, msg); err != nil {
		return header{}, fmt.Errorf("read status message: %w", err)
	}
	if !utf8.Valid(msg) {
		return header{}, fmt.Errorf("%w: status message is not UTF-8", ErrProtocol)
	}
	h.Msg = string(msg)
	return h, nil
}

// encodeU64 returns the 8-byte big-endian form of v (v >= 0).
func encodeU64(v int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(v))
}

// decodeU64 decodes an 8-byte big-endian size or offset, rejecting other
// lengths and values above 2^63-1.
func decodeU64(b []byte) (int64, error) {
	if len(b) != u64Size {
		return 0, fmt.Errorf("%w: integer is %d bytes, want %d", ErrProtocol, len(b), u64Size)
	}
	v := binary.BigEndian.Uint64(b)
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%w: size or offset %d exceeds 2^63-1", ErrProtocol, v)
	}
	return int64(v), nil
}

// encodePushRequest returns address ‖ u64 size.
func encodePushRequest(addr crypto.Hash, size int64) []byte {
	b := make([]byte, 0, pushRequestSize)
	b = append(b, addr[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(size))
}

// decodePushRequest decodes address ‖ u64 size, exactly 40 bytes.
func decodePushRequest(b []byte) (addr crypto.Hash, size int64, err error) {
	if len(b) != pushRequestSize {
		return crypto.Hash{}, 0, fmt.Errorf("%w: push request is %d bytes, want %d", ErrProtocol, len(b), pushRequestSize)
	}
	size, err = decodeU64(b[addrSize:])
	if err != nil {
		return crypto.Hash{}, 0, err
	}
	copy(addr[:], b[:addrSize])
	return addr, size, nil
}

// decodeFinal decodes the final status of a push.
func decodeFinal(b byte) (status, error) {
	switch st := status(b); st {
	case statusOK, statusBadRequest, statusMismatch, statusFailed:
		return st, nil
	}
	return 0, fmt.Errorf("%w: unknown final push status %d", ErrProtocol, b)
}
