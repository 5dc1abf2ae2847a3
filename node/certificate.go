package node

import (
	"github.com/evidenced/evidenced/certificate"
	"github.com/evidenced/evidenced/config"
)

// certificateFont returns the CJK font of evidence certificates (api.Issuer's
// Font): the one LoadHome read, or, when none was installed then, one
// installed since, so that a member who installs the font package after
// starting the node need not restart it. The error wraps
// certificate.ErrNoFont while there is none.
func (n *Node) certificateFont() ([]byte, error) {
	n.fontMu.Lock()
	defer n.fontMu.Unlock()
	if n.home.CertificateFont != nil {
		return n.home.CertificateFont, nil
	}
	font, err := certificate.LoadFont(config.Path(n.home.Dir, n.home.Config.API.CertificateFont))
	if err != nil {
		return nil, err
	}
	n.home.CertificateFont = font
	return font, nil
}
