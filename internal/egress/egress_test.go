package egress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClass: every special-purpose block is named, public addresses are
// not, and IPv4 addresses inside IPv6 ones are judged as IPv4.
func TestClass(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1", "loopback"},
		{"127.3.2.1", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"64:ff9b::7f00:1", "loopback (behind NAT64)"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:10.0.0.1", "private"},
		{"fd00::1", "private"},
		{"fc00::1", "private"},
		{"fec0::1", "private"},
		{"64:ff9b:1::1", "private"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"100.64.0.1", "shared (carrier-grade NAT)"},
		{"100.127.255.255", "shared (carrier-grade NAT)"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"},
		{"8.8.8.8", ""},
		{"100.128.0.1", ""},
		{"172.32.0.1", ""},
		{"192.169.0.1", ""},
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
	} {
		if got := class(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("class(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestParse: the allow list takes prefixes, addresses and host names, and
// says what is wrong with anything else.
func TestParse(t *testing.T) {
	p, err := Parse([]string{"10.2.0.0/16", "127.0.0.1", "fd00:1::/48", "Hooks.Bank.Internal."})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr    string
		allowed bool
	}{
		{"10.2.3.4", true},
		{"10.3.0.1", false},
		{"127.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"127.0.0.2", false},
		{"::1", false},
		{"fd00:1::5", true},
		{"fd00:2::5", false},
		{"8.8.8.8", true},
	} {
		err := p.CheckAddr(netip.MustParseAddr(tc.addr))
		if (err == nil) != tc.allowed || err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("CheckAddr(%s) = %v, want allowed %v", tc.addr, err, tc.allowed)
		}
	}
	if !p.allowsHost("hooks.bank.internal") || !p.allowsHost("HOOKS.bank.internal.") || p.allowsHost("bank.internal") || p.allowsHost("x.hooks.bank.internal") {
		t.Error("host names are not matched exactly, case and a final dot aside")
	}
	for _, bad := range []string{"10.2.3.0/16", "10.0.0.0/33", "", "a b", "http://x", "-x.example", "x_y.example", "*.bank.internal"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
}

// TestCheckURL: a destination URL is absolute http(s) with a host and no
// credentials, and an IP host must be allowed.
func TestCheckURL(t *testing.T) {
	p, err := Parse([]string{"192.168.7.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{
		"https://core.bank.example/hooks",
		"http://203.0.113.7:8443/x?y=1",
		"http://192.168.7.9/hooks",
		"http://[2001:db8::1]:8080/",
	} {
		if _, err := p.CheckURL(ok); err != nil {
			t.Errorf("CheckURL(%q) = %v", ok, err)
		}
	}
	for _, tc := range []struct {
		url     string
		refused bool // an address the policy refuses, not a malformed URL
	}{
		{"http://a b/", false},
		{"http://%zz/", false},
		{"ftp://core.bank.example/", false},
		{"/hooks", false},
		{"core.bank.example/hooks", false},
		{"http:///hooks", false},
		{"http:core.bank.example", false},
		{"https://user:pass@core.bank.example/", false},
		{"https://user@core.bank.example/", false},
		{"http://core.bank.example:0/", false},
		{"http://core.bank.example:65536/", false},
		{"http://core.bank.example/" + strings.Repeat("x", MaxURLLen), false},
		{"\x00http://core.bank.example/", false},
		{"http://127.0.0.1:26657/broadcast_tx_sync", true},
		{"http://[::1]/", true},
		{"http://[::ffff:127.0.0.1]/", true},
		{"http://10.0.0.1/", true},
		{"http://192.168.8.1/", true},
		{"http://169.254.169.254/latest/meta-data/", true},
		{"http://[fe80::1%25eth0]/", true},
		{"http://0.0.0.0:8080/", true},
		{"http://100.64.1.1/", true},
	} {
		_, err := p.CheckURL(tc.url)
		if err == nil || errors.Is(err, ErrRefused) != tc.refused {
			t.Errorf("CheckURL(%q) = %v, want an error (refused: %v)", tc.url, err, tc.refused)
		}
	}
}

// TestCheckHost: a name is refused when it resolves to a refused address,
// unless it is allowed by name.
func TestCheckHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, _ := Parse(nil)
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "10.9.8.7"} {
		if err := p.CheckHost(ctx, host); !errors.Is(err, ErrRefused) {
			t.Errorf("CheckHost(%s) = %v, want ErrRefused", host, err)
		}
	}
	if err := p.CheckHost(ctx, "nonexistent.invalid"); err == nil || errors.Is(err, ErrRefused) {
		t.Errorf("CheckHost of a name that does not resolve = %v, want a resolution error", err)
	}
	byName, _ := Parse([]string{"localhost"})
	if err := byName.CheckHost(ctx, "LOCALHOST"); err != nil {
		t.Errorf("CheckHost(localhost) allowed by name = %v", err)
	}
	if err := byName.CheckHost(ctx, "127.0.0.1"); !errors.Is(err, ErrRefused) {
		t.Errorf("CheckHost(127.0.0.1) with only localhost allowed by name = %v, want ErrRefused", err)
	}
}

// port returns the port of a test server.
func port(srv *httptest.Server) string { return srv.URL[strings.LastIndex(srv.URL, ":")+1:] }

// counter is a test server that counts the requests it gets.
func counter(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestClientDialsOnlyAllowed: the address actually dialed is checked, so a
// name that resolves to a refused address (as a rebinding DNS answer would)
// is refused at connection time, and an allowed one goes through.
func TestClientDialsOnlyAllowed(t *testing.T) {
	srv, hits := counter(t, nil)
	none, _ := Parse(nil)
	for _, u := range []string{srv.URL, "http://localhost:" + port(srv) + "/"} {
		resp, err := none.Client(5 * time.Second).Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("GET %s with nothing allowed = %v, want ErrRefused", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the refused server got %d requests", n)
	}
	loop, _ := Parse([]string{"127.0.0.0/8"})
	resp, err := loop.Client(5 * time.Second).Get("http://localhost:" + port(srv) + "/")
	if err != nil {
		t.Fatalf("GET with 127.0.0.0/8 allowed: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatal("the allowed server got no request")
	}
}

// TestClientFollowsNoRedirect: a redirect from an allowed receiver to a
// loopback or private address comes back as the 3xx, and the target is
// never asked.
func TestClientFollowsNoRedirect(t *testing.T) {
	target, hits := counter(t, nil)
	for _, to := range []string{target.URL + "/broadcast_tx_sync", "http://10.0.0.1/", "http://localhost:" + port(target) + "/"} {
		redirector, _ := counter(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to, http.StatusFound)
		})
		// Allowed by name; the target, at 127.0.0.1 too, is not.
		p, _ := Parse([]string{"localhost"})
		u := "http://localhost:" + port(redirector) + "/hook"
		resp, err := p.Client(5*time.Second).Post(u, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("POST %s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != to {
			t.Errorf("redirect to %s: got %d Location %q, want the 302 itself", to, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

// TestClientUsesNoProxy: a proxy named by the environment is not used: it
// would connect past the policy. (net/http reads the environment once per
// process, so the transport's Proxy is checked too.)
func TestClientUsesNoProxy(t *testing.T) {
	proxy, hits := counter(t, nil)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	p, _ := Parse([]string{"127.0.0.1"})
	c := p.Client(5 * time.Second)
	if c.Transport.(*http.Transport).Proxy != nil {
		t.Fatal("the client's transport has a Proxy")
	}
	resp, err := c.Get("http://10.0.0.1/")
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrRefused) || hits.Load() != 0 {
		t.Fatalf("GET http://10.0.0.1/ with HTTP_PROXY set = %v, proxy asked %d times; want ErrRefused, never the proxy", err, hits.Load())
	}
}
