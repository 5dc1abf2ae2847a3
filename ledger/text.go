package ledger

import (
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Free text where people write (docs/ARCHITECTURE.md, "UTF-8 text"): grant
// purposes and refusal reasons (a case number, 案号), attestation notes,
// request purposes and label values. Identifiers (chain ids, member names,
// kinds, statements, label keys) stay ASCII (checkIdent).
//
// Text is valid UTF-8 in Unicode Normalization Form C, so one string has
// one encoding and a signature over it one meaning: the ledger refuses text
// that is not NFC rather than normalising it (which would change signed
// bytes), and clients normalise with NormalizeText before they sign. It
// holds no control characters — C0 (below U+0020, tab and newline
// included), DEL, C1 (U+0080–U+009F) — nor the line and paragraph
// separators U+2028 and U+2029 nor the bidirectional embedding, override
// and isolate controls U+202A–U+202E and U+2066–U+2069, which make text
// display as something other than what it says. Printable ASCII is valid
// text, so every transaction valid under the older ASCII rule stays valid.

// NormalizeText returns s in Unicode Normalization Form C, as the ledger
// accepts free text. Clients call it on what people typed before signing.
func NormalizeText(s string) string { return norm.NFC.String(s) }

// CheckText reports whether s is free text the ledger accepts in a field of
// at most maxBytes bytes (empty text is accepted: fields that require text
// say so themselves). A refusal is a *RejectError with CodeTooLarge,
// CodeBadUTF8, CodeTextNotNFC or CodeControlChar naming field.
func CheckText(field, s string, maxBytes int) error {
	if e := checkText(field, s, maxBytes); e != nil {
		return e
	}
	return nil
}

// checkText is CheckText with a typed result.
func checkText(field, s string, maxBytes int) *RejectError {
	if len(s) > maxBytes {
		return reject(CodeTooLarge, "%s is %d bytes, more than %d", field, len(s), maxBytes)
	}
	ascii := true
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return reject(CodeControlChar, "%s holds the control character U+%04X at byte %d: write it on one line, without control characters", field, c, i)
			}
			i++
			continue
		}
		ascii = false
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return reject(CodeBadUTF8, "%s is not valid UTF-8 (byte %d is 0x%02x): send text in UTF-8", field, i, c)
		}
		if forbiddenRune(r) {
			return reject(CodeControlChar, "%s holds the control character U+%04X at byte %d: remove it (line separators and bidirectional controls are refused)", field, r, i)
		}
		i += n
	}
	if !ascii && !norm.NFC.IsNormalString(s) {
		return reject(CodeTextNotNFC, "%s is not in Unicode Normalization Form C: normalise it (NFC) before signing", field)
	}
	return nil
}

// forbiddenRune reports whether r, a non-ASCII rune, may not appear in text:
// C1 controls, U+2028/U+2029, and the bidirectional controls.
func forbiddenRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
