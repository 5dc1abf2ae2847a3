package certificate

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
)

// ErrNotCertificate is wrapped by Extract's errors when the PDF is not a
// certificate as Build writes one: no attachments, or a missing, malformed
// or oversized receipt.json or certificate.json.
var ErrNotCertificate = errors.New("not an evidenced certificate PDF")

// maxAttachments bounds the file specifications Extract reads.
const maxAttachments = 8

// Extract returns the attachments receipt.json and certificate.json of a
// certificate PDF that Build wrote. It is a small reader of exactly that
// layout, not a general PDF parser: each /Type /Filespec dictionary names
// its file in /UF and its stream in /EF << /F N 0 R >>; each embedded file
// stream is one Flate-compressed stream whose /Length, /Params /Size and
// /CheckSum (MD5) it checks. Sizes are checked before anything is
// allocated or inflated: the PDF is at most MaxPDFSize bytes, receipt.json
// at most MaxReceiptSize and certificate.json MaxCertificateSize.
func Extract(pdf []byte) (receiptJSON, certJSON []byte, err error) {
	if len(pdf) > MaxPDFSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrNotCertificate, len(pdf), MaxPDFSize)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, nil, fmt.Errorf("%w: the file does not start with %%PDF-", ErrNotCertificate)
	}
	rest := pdf
	for n := 0; ; n++ {
		i := bytes.Index(rest, []byte("/Type /Filespec"))
		if i < 0 {
			break
		}
		if n == maxAttachments {
			return nil, nil, fmt.Errorf("%w: more than %d attachments", ErrNotCertificate, maxAttachments)
		}
		rest = rest[i+len("/Type /Filespec"):]
		name, obj, err := filespec(rest)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: attachment %d: %v", ErrNotCertificate, n+1, err)
		}
		var limit int
		var dst *[]byte
		switch name {
		case ReceiptName:
			limit, dst = MaxReceiptSize, &receiptJSON
		case CertificateName:
			limit, dst = MaxCertificateSize, &certJSON
		default:
			continue
		}
		if *dst != nil {
			return nil, nil, fmt.Errorf("%w: two attachments named %s", ErrNotCertificate, name)
		}
		b, err := embeddedFile(pdf, obj, limit)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrNotCertificate, name, err)
		}
		*dst = b
	}
	switch {
	case receiptJSON == nil:
		return nil, nil, fmt.Errorf("%w: no %s attachment", ErrNotCertificate, ReceiptName)
	case certJSON == nil:
		return nil, nil, fmt.Errorf("%w: no %s attachment", ErrNotCertificate, CertificateName)
	}
	return receiptJSON, certJSON, nil
}

// filespec reads, after "/Type /Filespec", the /UF name and the object
// number of /EF << /F N 0 R >>, within the next 2 KiB.
func filespec(b []byte) (string, int, error) {
	if len(b) > 2048 {
		b = b[:2048]
	}
	i := bytes.Index(b, []byte("/UF "))
	if i < 0 {
		return "", 0, errors.New("file specification without /UF")
	}
	name, b, err := literal(b[i+len("/UF "):])
	if err != nil {
		return "", 0, fmt.Errorf("file name: %w", err)
	}
	const ef = " /EF << /F "
	if !bytes.HasPrefix(b, []byte(ef)) {
		return "", 0, errors.New("file specification without /EF << /F N 0 R >> after its name")
	}
	num, after, ok := decimal(b[len(ef):])
	if !ok || !bytes.HasPrefix(after, []byte(" 0 R >>")) {
		return "", 0, errors.New("file specification's /EF is not << /F N 0 R >>")
	}
	return textString(name), num, nil
}

// literal reads a PDF literal string "(...)" at the start of b, undoing
// the escapes of ISO 32000-1 §7.3.4.2 (fpdf writes \\, \(, \) and \r).
func literal(b []byte) ([]byte, []byte, error) {
	if len(b) == 0 || b[0] != '(' {
		return nil, nil, errors.New("not a literal string")
	}
	var out []byte
	for i := 1; i < len(b) && i < 1024; i++ {
		switch c := b[i]; c {
		case ')':
			return out, b[i+1:], nil
		case '(':
			return nil, nil, errors.New("unescaped ( in a literal string")
		case '\\':
			i++
			if i == len(b) {
				return nil, nil, errors.New("unterminated escape")
			}
			switch e := b[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\\', '(', ')':
				out = append(out, e)
			default:
				if e < '0' || e > '7' {
					return nil, nil, fmt.Errorf("escape \\%c in a literal string", e)
				}
				v, k := 0, 0
				for ; k < 3 && i+k < len(b) && b[i+k] >= '0' && b[i+k] <= '7'; k++ {
					v = v*8 + int(b[i+k]-'0')
				}
				i += k - 1
				out = append(out, byte(v))
			}
		default:
			out = append(out, c)
		}
	}
	return nil, nil, errors.New("unterminated literal string (or longer than 1 KiB)")
}

// textString decodes a PDF text string: UTF-16BE after a byte order mark,
// else bytes as they are.
func textString(b []byte) string {
	if len(b) < 2 || b[0] != 0xFE || b[1] != 0xFF || len(b)%2 != 0 {
		return string(b)
	}
	u := make([]uint16, 0, len(b)/2-1)
	for i := 2; i < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}

// decimal reads a decimal number of at most 9 digits at the start of b.
func decimal(b []byte) (int, []byte, bool) {
	n := 0
	for n < len(b) && n < 10 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 9 {
		return 0, b, false
	}
	v, err := strconv.Atoi(string(b[:n]))
	return v, b[n:], err == nil
}

// embeddedFile reads object num of pdf, an embedded file stream as fpdf
// writes one, and inflates it: at most limit bytes.
func embeddedFile(pdf []byte, num, limit int) ([]byte, error) {
	head := []byte("\n" + strconv.Itoa(num) + " 0 obj\n")
	i := bytes.Index(pdf, head)
	if i < 0 {
		return nil, fmt.Errorf("object %d not found", num)
	}
	b := pdf[i+len(head):]
	j := bytes.Index(b, []byte(">> >>\n"))
	if j < 0 || j > 512 {
		return nil, fmt.Errorf("object %d is not an embedded file stream", num)
	}
	dict := b[:j]
	// fpdf writes the dictionary, an empty line, then the stream.
	dictEnd := ">> >>\n\nstream\n"
	if !bytes.HasPrefix(b[j:], []byte(dictEnd)) {
		dictEnd = ">> >>\nstream\n"
		if !bytes.HasPrefix(b[j:], []byte(dictEnd)) {
			return nil, fmt.Errorf("object %d: no stream after the dictionary", num)
		}
	}
	if !bytes.HasPrefix(dict, []byte("<< /Type /EmbeddedFile /Length ")) || !bytes.Contains(dict, []byte("/Filter /FlateDecode")) {
		return nil, fmt.Errorf("object %d is not a Flate-compressed embedded file stream", num)
	}
	length, _, ok := decimal(dict[len("<< /Type /EmbeddedFile /Length "):])
	if !ok {
		return nil, fmt.Errorf("object %d: bad /Length", num)
	}
	k := bytes.Index(dict, []byte("/Size "))
	if k < 0 {
		return nil, fmt.Errorf("object %d: no /Params /Size", num)
	}
	size, _, ok := decimal(dict[k+len("/Size "):])
	if !ok {
		return nil, fmt.Errorf("object %d: bad /Size", num)
	}
	var sum []byte
	if k := bytes.Index(dict, []byte("/CheckSum <")); k >= 0 {
		s := dict[k+len("/CheckSum <"):]
		if e := bytes.IndexByte(s, '>'); e == 2*md5.Size {
			sum, _ = hex.DecodeString(string(s[:e]))
		}
	}
	if sum == nil {
		return nil, fmt.Errorf("object %d: no MD5 /CheckSum", num)
	}
	if size > limit {
		return nil, fmt.Errorf("%d bytes, over the limit of %d", size, limit)
	}
	data := b[j+len(dictEnd):]
	if length > len(data) || !bytes.HasPrefix(data[length:], []byte("\nendstream")) {
		return nil, fmt.Errorf("object %d: the stream is not /Length %d bytes long", num, length)
	}
	zr, err := zlib.NewReader(bytes.NewReader(data[:length]))
	if err != nil {
		return nil, fmt.Errorf("object %d: %w", num, err)
	}
	out := make([]byte, 0, size)
	buf := bytes.NewBuffer(out)
	if _, err := io.Copy(buf, io.LimitReader(zr, int64(size)+1)); err != nil {
		return nil, fmt.Errorf("object %d: inflate: %w", num, err)
	}
	if buf.Len() != size {
		return nil, fmt.Errorf("object %d: inflates to %d bytes or more, /Size says %d", num, buf.Len(), size)
	}
	if got := md5.Sum(buf.Bytes()); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("object %d: MD5 %x, /CheckSum says %x", num, got, sum)
	}
	return buf.Bytes(), nil
}
