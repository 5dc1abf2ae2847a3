package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"

	"github.com/evidenced/evidenced/crypto"
)

// Trusted time-stamping authorities (RFC 3161). The TSAs the alliance
// trusts are part of the roster: the genesis names them (roster version
// 0), a proposal of kind add-tsa or remove-tsa changes them, and the
// roster file and its digest carry them, so an offline verifier holding a
// roster has the anchors a timestamp token is checked against.
//
// State:
//
//	'R' ‖ u8-prefixed name → the TSA in force (addTSA encoding)
//
// Encoding of one TSA, wherever it appears (roster versions, roster
// entries, add-tsa proposals, the roster digest):
//
//	TSA = u8-prefixed name ‖ u16-prefixed DER certificate ‖ u8 count ‖ u8-prefixed hash names
//
// A list of TSAs (roster versions, roster entries, the roster digest) is
// written after the seats only when it is not empty, as u8 count ‖ TSAs
// sorted by name, so a roster without TSAs has the bytes it had before
// TSAs existed.

// TSA limits.
const (
	MaxTSAs         = 16   // the most TSAs a roster names
	MaxTSANameLen   = 64   // bytes of a TSA's name
	MaxTSACertBytes = 8192 // bytes of a TSA's DER certificate
)

// Hash algorithms a TSA may use for its message imprints (TSA.Hashes).
const (
	HashSM3    = "sm3"
	HashSHA256 = "sha256"
)

// TSAHashes lists the hash algorithm names a TSA may use, sorted.
func TSAHashes() []string { return []string{HashSHA256, HashSM3} }

// TSA is a time-stamping authority the alliance trusts: its name, the
// certificate a token's signer is checked against (the TSA's signing
// certificate, or a CA certificate that issued it) and the hash
// algorithms of the message imprints it signs. In JSON (the roster file,
// GET /v1/roster) Cert is the standard base64 of the DER certificate.
type TSA struct {
	Name   string   `json:"name"`
	Cert   []byte   `json:"cert"`   // DER X.509 certificate (SM2, RSA or ECDSA)
	Hashes []string `json:"hashes"` // sorted subset of "sha256", "sm3"
}

// Certificate parses the TSA's certificate.
func (t *TSA) Certificate() (*smx509.Certificate, error) {
	c, err := smx509.ParseCertificate(t.Cert)
	if err != nil {
		return nil, fmt.Errorf("TSA %s certificate: %w", t.Name, err)
	}
	return c, nil
}

// Fingerprint returns the SM3 and SHA-256 digests of the DER certificate,
// as the explorer and the CLI show them.
func (t *TSA) Fingerprint() (sm3, sha [32]byte) {
	return crypto.SM3(t.Cert), sha256.Sum256(t.Cert)
}

// Subject returns the certificate's subject as text, or "" when it does
// not parse.
func (t *TSA) Subject() string {
	c, err := t.Certificate()
	if err != nil {
		return ""
	}
	return c.Subject.String()
}

// Validate checks one TSA alone: a name of 1 to MaxTSANameLen letters,
// digits and . _ - : (not starting with punctuation), a DER certificate of
// at most MaxTSACertBytes that parses as X.509 (without any time check),
// and 1 or 2 hash names, sorted, unique, each "sm3" or "sha256".
func (t *TSA) Validate() error {
	if err := checkIdent("TSA name", t.Name, MaxTSANameLen, identChain); err != nil {
		return err
	}
	if len(t.Cert) == 0 || len(t.Cert) > MaxTSACertBytes {
		return reject(CodeMalformed, "TSA %s: the certificate is %d bytes, want 1 to %d of DER", t.Name, len(t.Cert), MaxTSACertBytes)
	}
	if _, err := smx509.ParseCertificate(t.Cert); err != nil {
		return reject(CodeMalformed, "TSA %s: the certificate does not parse as DER X.509: %v", t.Name, err)
	}
	if len(t.Hashes) == 0 || len(t.Hashes) > 2 {
		return reject(CodeMalformed, "TSA %s names %d hash algorithms, want 1 or 2 of sha256, sm3", t.Name, len(t.Hashes))
	}
	for i, h := range t.Hashes {
		if h != HashSM3 && h != HashSHA256 {
			return reject(CodeMalformed, "TSA %s: hash algorithm %q, want sm3 or sha256", t.Name, h)
		}
		if i > 0 && t.Hashes[i-1] >= h {
			return reject(CodeMalformed, "TSA %s: hash algorithms must be sorted, one each (%s after %s)", t.Name, h, t.Hashes[i-1])
		}
	}
	return nil
}

// ValidateTSAs checks a roster's TSAs whole: each one, at most MaxTSAs,
// sorted by name, names and certificates unique.
func ValidateTSAs(ts []TSA) error {
	if len(ts) > MaxTSAs {
		return reject(CodeTooLarge, "a roster names at most %d TSAs, not %d", MaxTSAs, len(ts))
	}
	for i := range ts {
		if err := ts[i].Validate(); err != nil {
			return err
		}
		if i > 0 && ts[i-1].Name >= ts[i].Name {
			if ts[i-1].Name == ts[i].Name {
				return reject(CodeDuplicateTSA, "TSA %s appears twice", ts[i].Name)
			}
			return reject(CodeMalformed, "roster TSAs must be sorted by name (%s after %s)", ts[i].Name, ts[i-1].Name)
		}
		for j := 0; j < i; j++ {
			if bytes.Equal(ts[j].Cert, ts[i].Cert) {
				return reject(CodeDuplicateTSA, "TSA %s has the certificate of %s: name each certificate once", ts[i].Name, ts[j].Name)
			}
		}
	}
	return nil
}

// SortTSAs sorts ts by name and each one's hash names, in place.
func SortTSAs(ts []TSA) {
	for i := range ts {
		slices.Sort(ts[i].Hashes)
	}
	slices.SortFunc(ts, func(a, b TSA) int { return strings.Compare(a.Name, b.Name) })
}

// ParseTSACert returns the DER certificate in data: a PEM "CERTIFICATE"
// block, or DER as is. It does not check that the certificate parses
// (TSA.Validate does).
func ParseTSACert(data []byte) ([]byte, error) {
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q: want a CERTIFICATE", b.Type)
		}
		return b.Bytes, nil
	}
	if len(data) == 0 || data[0] != 0x30 {
		return nil, errors.New("not a PEM CERTIFICATE block nor a DER certificate")
	}
	return data, nil
}

// ParseTSAHashes parses a comma-separated list of hash names ("sm3",
// "sm3,sha256") into a TSA's sorted Hashes.
func ParseTSAHashes(s string) ([]string, error) {
	var out []string
	for _, h := range strings.Split(s, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h != HashSM3 && h != HashSHA256 {
			return nil, fmt.Errorf("hash algorithm %q: want sm3, sha256 or both (sm3,sha256)", h)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out, nil
}

func addTSA(b *cryptobyte.Builder, t *TSA) {
	addString8(b, t.Name)
	b.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) { c.AddBytes(t.Cert) })
	b.AddUint8(uint8(len(t.Hashes)))
	for _, h := range t.Hashes {
		addString8(b, h)
	}
}

func readTSA(s *cryptobyte.String) (*TSA, error) {
	t := &TSA{}
	var cert cryptobyte.String
	var n uint8
	if !readString8(s, &t.Name) || !s.ReadUint16LengthPrefixed(&cert) || !s.ReadUint8(&n) {
		return nil, reject(CodeMalformed, "TSA is truncated")
	}
	if len(cert) > MaxTSACertBytes {
		return nil, reject(CodeMalformed, "TSA %s: the certificate is %d bytes, more than %d", t.Name, len(cert), MaxTSACertBytes)
	}
	t.Cert = bytes.Clone(cert)
	if n > 2 {
		return nil, reject(CodeMalformed, "TSA %s names %d hash algorithms, more than 2", t.Name, n)
	}
	for i := 0; i < int(n); i++ {
		var h string
		if !readString8(s, &h) {
			return nil, reject(CodeMalformed, "TSA %s hash %d is truncated", t.Name, i)
		}
		t.Hashes = append(t.Hashes, h)
	}
	return t, nil
}

// addTSAs writes ts after a roster's seats: nothing when there are none,
// else u8 count ‖ TSAs.
func addTSAs(b *cryptobyte.Builder, ts []TSA) {
	if len(ts) == 0 {
		return
	}
	b.AddUint8(uint8(len(ts)))
	for i := range ts {
		addTSA(b, &ts[i])
	}
}

// readTSAs reads what addTSAs wrote: nothing when s is empty (a roster
// without TSAs), else a count of 1 to MaxTSAs and the TSAs.
func readTSAs(s *cryptobyte.String) ([]TSA, error) {
	if s.Empty() {
		return nil, nil
	}
	var n uint8
	if !s.ReadUint8(&n) {
		return nil, reject(CodeMalformed, "TSA list is truncated")
	}
	if n == 0 || int(n) > MaxTSAs {
		return nil, reject(CodeMalformed, "a TSA list holds 1 to %d TSAs (none is written as no list), not %d", MaxTSAs, n)
	}
	out := make([]TSA, 0, n)
	for i := 0; i < int(n); i++ {
		t, err := readTSA(s)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, nil
}

// TSAInfo is a TSA as the explorer and the CLI show it.
type TSAInfo struct {
	Name    string
	Hashes  []string
	Subject string // the certificate's subject
	SM3     string // hex SM3 of the DER certificate
	SHA256  string // hex SHA-256 of the DER certificate
}

// Info returns what the explorer and the CLI show of t.
func (t *TSA) Info() TSAInfo {
	s, h := t.Fingerprint()
	return TSAInfo{Name: t.Name, Hashes: t.Hashes, Subject: t.Subject(), SM3: hex.EncodeToString(s[:]), SHA256: hex.EncodeToString(h[:])}
}

// keyTSA is the state key of the TSA in force named name.
func keyTSA(name string) []byte { return keyString8(prefixTSA, name) }

// setTSAs makes ts the TSAs in force, replacing prev.
func (s *state) setTSAs(prev, ts []TSA) {
	for i := range prev {
		if !slices.ContainsFunc(ts, func(t TSA) bool { return t.Name == prev[i].Name }) {
			s.del(keyTSA(prev[i].Name))
		}
	}
	for i := range ts {
		var b cryptobyte.Builder
		addTSA(&b, &ts[i])
		v := b.BytesOrPanic()
		if j := slices.IndexFunc(prev, func(t TSA) bool { return t.Name == ts[i].Name }); j >= 0 && bytes.Equal(encodeTSA(&prev[j]), v) {
			continue
		}
		s.set(keyTSA(ts[i].Name), v)
	}
}

func encodeTSA(t *TSA) []byte {
	var b cryptobyte.Builder
	addTSA(&b, t)
	return b.BytesOrPanic()
}

// TSAs returns the trusted time-stamping authorities of the roster in
// force, sorted by name (nil when it names none). RosterAt and
// RosterSigning give those of the version in force at a height.
func (v *View) TSAs() ([]TSA, error) {
	if _, err := v.Params(); err != nil {
		return nil, err
	}
	kvs, err := v.r.Scan(key1(prefixTSA), nil, MaxTSAs+1)
	if err != nil {
		return nil, fmt.Errorf("scan the TSAs: %w", err)
	}
	var out []TSA
	for _, kv := range kvs {
		s := cryptobyte.String(kv.Value)
		t, err := readTSA(&s)
		if err != nil || !s.Empty() || !bytes.Equal(kv.Key, keyTSA(t.Name)) {
			return nil, fmt.Errorf("%w: TSA record %x", ErrStoreCorrupt, kv.Key)
		}
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b TSA) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
