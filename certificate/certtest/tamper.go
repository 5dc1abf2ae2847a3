package certtest

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"fmt"
	"strconv"
	"unicode/utf16"
)

// ReplaceAttachment returns a certificate PDF that Build wrote with the
// content of its attachment name replaced by content, written as fpdf
// writes an embedded file stream (the cross-reference table is left as it
// was: certificate.Extract and poppler do not need it exact).
func ReplaceAttachment(pdf []byte, name string, content []byte) ([]byte, error) {
	uf := []byte("/UF (\xfe\xff")
	for _, u := range utf16.Encode([]rune(name)) {
		uf = append(uf, byte(u>>8), byte(u))
	}
	uf = append(uf, ") /EF << /F "...)
	i := bytes.Index(pdf, uf)
	if i < 0 {
		return nil, fmt.Errorf("no attachment %s", name)
	}
	rest := pdf[i+len(uf):]
	j := bytes.IndexByte(rest, ' ')
	num, err := strconv.Atoi(string(rest[:max(j, 0)]))
	if err != nil {
		return nil, fmt.Errorf("attachment %s: no object number", name)
	}
	head := []byte("\n" + strconv.Itoa(num) + " 0 obj\n")
	k := bytes.Index(pdf, head)
	if k < 0 {
		return nil, fmt.Errorf("attachment %s: no object %d", name, num)
	}
	start := k + len(head)
	e := bytes.Index(pdf[start:], []byte("\nendstream"))
	if e < 0 {
		return nil, fmt.Errorf("attachment %s: no end of stream", name)
	}
	end := start + e + len("\nendstream")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(content); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	obj := fmt.Sprintf("<< /Type /EmbeddedFile /Length %d /Filter /FlateDecode /Params << /CheckSum <%x> /Size %d >> >>\n\nstream\n%s\nendstream",
		z.Len(), md5.Sum(content), len(content), z.Bytes())
	out := append(bytes.Clone(pdf[:start]), obj...)
	return append(out, pdf[end:]...), nil
}
