// Package egress decides where the node's outgoing HTTP requests (webhook
// deliveries) may go, so that whoever subscribes cannot turn them inward,
// onto the node's own ports or the member's internal network.
//
// A Policy refuses loopback, link-local, private (RFC 1918, RFC 4193 unique
// local), shared address space (RFC 6598, carrier-grade NAT), unspecified,
// multicast and reserved destinations (the special-purpose registries of
// RFC 6890), IPv4 addresses in IPv6 clothing (IPv4-mapped, RFC 6052 NAT64)
// included, unless the operator allows them by prefix, address or host
// name. It is applied twice: to a URL when it is accepted (CheckURL,
// CheckHost), and to every address a connection is actually made to
// (DialContext), so a name that resolves to a public address when checked
// and to a refused one when dialed (DNS rebinding) still cannot reach it.
// Its Client follows no redirects and uses no proxy, so neither a 3xx nor
// the environment's HTTP_PROXY can carry a request past it.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by the error for a destination the policy refuses.
var ErrRefused = errors.New("destination refused")

// MaxURLLen bounds a URL CheckURL accepts.
const MaxURLLen = 2048

// Policy is the set of destinations requests may reach: every public
// unicast address, and what its allow list names. The zero Policy allows
// nothing but public addresses. A Policy is immutable and safe for
// concurrent use.
type Policy struct {
	nets  []netip.Prefix
	hosts []string // lower case, without a trailing dot
}

// Parse returns the policy that allows, beside public addresses, each entry
// of allow: a CIDR prefix ("10.2.0.0/16", "fd00:1::/48"), an address
// ("127.0.0.1", "::1") or a host name ("hooks.bank.internal"; matched
// exactly, case aside, and trusted whatever it resolves to).
func Parse(allow []string) (*Policy, error) {
	p := &Policy{}
	var errs []error
	for _, s := range allow {
		if pfx, err := netip.ParsePrefix(s); err == nil {
			if pfx != pfx.Masked() {
				errs = append(errs, fmt.Errorf("%q has bits set past its prefix length: write %s", s, pfx.Masked()))
				continue
			}
			p.nets = append(p.nets, pfx)
			continue
		}
		if ip, err := netip.ParseAddr(s); err == nil {
			p.nets = append(p.nets, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		h := strings.TrimSuffix(strings.ToLower(s), ".")
		if !validHostName(h) {
			errs = append(errs, fmt.Errorf("%q is neither a CIDR prefix, an IP address nor a host name", s))
			continue
		}
		p.hosts = append(p.hosts, h)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// validHostName reports whether h (lower case) is a DNS host name: dot
// separated labels of 1 to 63 letters, digits and hyphens, not starting or
// ending with a hyphen, 253 bytes at most.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// allowsHost reports whether host is allowed by name.
func (p *Policy) allowsHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, a := range p.hosts {
		if a == h {
			return true
		}
	}
	return false
}

// The special-purpose blocks not covered by netip.Addr's own predicates.
var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")      // RFC 1122: "this network"
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")  // RFC 6598: carrier-grade NAT
	reserved4   = netip.MustParsePrefix("240.0.0.0/4")    // RFC 1112: reserved, and the broadcast address
	siteLocal   = netip.MustParsePrefix("fec0::/10")      // RFC 3879: deprecated site-local
	nat64       = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052: IPv4 addresses translated by a NAT64
	nat64Local  = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215: local-use NAT64
)

// class names what kind of non-public address ip is, or "" when it is a
// public unicast address.
func class(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		if c := class(netip.AddrFrom4([4]byte(b[12:]))); c != "" {
			return c + " (behind NAT64)"
		}
		return ""
	}
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip.IsPrivate() || siteLocal.Contains(ip) || nat64Local.Contains(ip):
		return "private"
	case sharedSpace.Contains(ip):
		return "shared (carrier-grade NAT)"
	case reserved4.Contains(ip):
		return "reserved"
	}
	return ""
}

// CheckAddr returns nil when ip may be connected to: it is a public unicast
// address or the allow list covers it. Otherwise the error, wrapping
// ErrRefused, says what kind of address it is.
func (p *Policy) CheckAddr(ip netip.Addr) error {
	for _, n := range p.nets {
		if n.Contains(ip) || n.Contains(ip.Unmap()) {
			return nil
		}
	}
	if c := class(ip); c != "" {
		return fmt.Errorf("%s is a %s address: %w", ip, c, ErrRefused)
	}
	return nil
}

// CheckURL parses raw as a destination URL and checks what can be checked
// without the network: an absolute http or https URL with a host, no user
// name or password, at most MaxURLLen bytes, and, when the host is an IP
// address, one the policy allows (names are checked when resolved:
// CheckHost, DialContext). An error wrapping ErrRefused means the address
// is not allowed; any other error means the URL is malformed.
func (p *Policy) CheckURL(raw string) (*url.URL, error) {
	if len(raw) > MaxURLLen {
		return nil, fmt.Errorf("the URL is %d bytes, more than %d", len(raw), MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the URL does not parse: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q is not an absolute http or https URL", raw)
	case u.Opaque != "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("%q holds a user name or password: deliveries are signed, put no credentials in the URL", u.Redacted())
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%q: port %q is not a port number (1 to 65535)", raw, port)
		}
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if err := p.CheckAddr(ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// CheckHost resolves host, unless it is allowed by name or an IP address,
// and checks every address it resolves to: one refused address refuses the
// host. A name that does not resolve is an error too.
func (p *Policy) CheckHost(ctx context.Context, host string) error {
	if p.allowsHost(host) {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(ip)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, ip := range addrs {
		if err := p.CheckAddr(ip); err != nil {
			return fmt.Errorf("%s resolves to %w", host, err)
		}
	}
	return nil
}

// dialTimeout bounds the connection of one request.
const dialTimeout = 10 * time.Second

// DialContext connects to address ("host:port") as net.Dialer does, for an
// http.Transport. Unless the host is allowed by name, every address a
// connection is attempted to is checked just before it is made, whatever
// the name resolved to by then: a refused one fails the dial with an error
// wrapping ErrRefused.
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	if !p.allowsHost(host) {
		d.Control = p.control
	}
	return d.DialContext(ctx, network, address)
}

// control is a net.Dialer's Control: address is the IP and port about to
// be connected to.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%s is not an IP address and port: %w", address, ErrRefused)
	}
	return p.CheckAddr(ap.Addr())
}

// Client returns an HTTP client that connects only where the policy allows
// (DialContext), never through a proxy (one from the environment would
// make the connection past the policy), and follows no redirect: a 3xx is
// returned as the response, for the caller to treat as a failure. timeout
// bounds each request.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           p.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
