package certificate

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"fmt"
	"strconv"
)

// ReplaceAttachmentForTest returns pdf with the content of the attachment
// named name replaced by content, written as fpdf writes an embedded file.
func ReplaceAttachmentForTest(pdf []byte, name string, content []byte) ([]byte, error) {
	rest := pdf
	for {
		i := bytes.Index(rest, []byte("/Type /Filespec"))
		if i < 0 {
			return nil, fmt.Errorf("no attachment %s", name)
		}
		rest = rest[i+len("/Type /Filespec"):]
		n, num, err := filespec(rest)
		if err != nil {
			return nil, err
		}
		if n != name {
			continue
		}
		head := []byte("\n" + strconv.Itoa(num) + " 0 obj\n")
		start := bytes.Index(pdf, head) + len(head)
		end := start + bytes.Index(pdf[start:], []byte("\nendstream")) + len("\nendstream")
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(content)
		zw.Close()
		obj := fmt.Sprintf("<< /Type /EmbeddedFile /Length %d /Filter /FlateDecode /Params << /CheckSum <%x> /Size %d >> >>\nstream\n%s\nendstream",
			z.Len(), md5.Sum(content), len(content), z.Bytes())
		return append(append(bytes.Clone(pdf[:start]), obj...), pdf[end:]...), nil
	}
}
