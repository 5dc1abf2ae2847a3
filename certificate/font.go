package certificate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// FontPaths are where LoadFont looks for a CJK TrueType font, in order:
// AR PL SungtiL GB of the Debian package fonts-arphic-gbsn00lp.
var FontPaths = []string{
	"/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
	"/usr/share/fonts/truetype/arphic/gbsn00lp.ttf",
	"/usr/local/share/fonts/gbsn00lp.ttf",
}

// FontPackage is the Debian/Ubuntu package that ships the default font.
const FontPackage = "fonts-arphic-gbsn00lp"

// MaxFontSize bounds the font file LoadFont reads.
const MaxFontSize = 64 << 20

// ErrNoFont is returned by LoadFont when no font file is found.
var ErrNoFont = errors.New("no CJK font for certificates")

// LoadFont reads the TrueType font (.ttf, not .ttc) of path, or, when path
// is empty, the first of FontPaths that exists. A missing font is an error
// wrapping ErrNoFont that names the package to install.
func LoadFont(path string) ([]byte, error) {
	paths := FontPaths
	if path != "" {
		paths = []string{path}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("font %s: %w", p, err)
		}
		if st.Size() > MaxFontSize {
			return nil, fmt.Errorf("font %s: %d bytes, over the limit of %d", p, st.Size(), MaxFontSize)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("font %s: %w", p, err)
		}
		if len(b) < 4 || (string(b[:4]) != "\x00\x01\x00\x00" && string(b[:4]) != "true") {
			return nil, fmt.Errorf("font %s is not a TrueType font (.ttf; a .ttc collection will not do): give a .ttf, or install %s", p, FontPackage)
		}
		return b, nil
	}
	if path != "" {
		return nil, fmt.Errorf("%w: %s does not exist: give the path of a .ttf CJK font, or install %s (apt-get install %s) and leave the font unset", ErrNoFont, path, FontPackage, FontPackage)
	}
	return nil, fmt.Errorf("%w: none of %v exists: install %s (apt-get install %s), or give the path of a .ttf CJK font", ErrNoFont, FontPaths, FontPackage, FontPackage)
}
