package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evidenced/evidenced/ledger"
)

func TestDefaultIsValidWithNames(t *testing.T) {
	c := Default()
	c.Moniker, c.Member = "bank", "bank"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	home := t.TempDir()
	c := Default()
	c.Moniker, c.Member, c.Role, c.ChainID = "court-1", "court", "court", "evidenced-test"
	c.API.Listen = "127.0.0.1:9999"
	c.API.CommitTimeout = Duration(5 * time.Second)
	c.Webhooks = []Webhook{{Name: "loans", URL: "https://core.bank.example/hooks", SecretFile: "config/hook-secret", Types: []string{"evidence", "grant"}, Chain: "LOAN-1"},
		{Name: "core.v2", URL: "http://10.2.0.9:8080/hooks", SecretFile: "config/hook-secret"}}
	c.WebhookPolicy.Allow = []string{"10.2.0.0/16", "hooks.bank.internal"}
	c.Timestamp = Timestamp{Stamp: true, Interval: Duration(7 * time.Second), Timeout: Duration(3 * time.Second),
		TSAs:      []TimestampTSA{{Name: "ntsc", URL: "https://tsa.example.cn/tsp", Hash: "sm3"}, {Name: "dev-tsa", URL: "http://127.0.0.1:26609/", Hash: "sha256"}},
		DevTSADir: "../tsa", DevTSAListen: "127.0.0.1:26609"}
	if err := c.Save(home); err != nil {
		t.Fatal(err)
	}
	got, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, c) {
		t.Fatalf("round trip: got %+v, want %+v", *got, c)
	}
	if got.APIURL() != "http://127.0.0.1:9999" {
		t.Fatalf("APIURL = %s", got.APIURL())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, toml, want string
	}{
		{"unknown key", "moniker='a'\nmember='a'\nmonikr='b'\n", "unknown settings: monikr"},
		{"bad role", "moniker='a'\nmember='a'\nrole='king'\n", `role "king"`},
		{"bad listen", "moniker='a'\nmember='a'\n[api]\nlisten='nowhere'\n", "api.listen"},
		{"bad duration", "moniker='a'\nmember='a'\n[api]\ncommit_timeout='soon'\n", "duration"},
		{"no member", "moniker='a'\n", "member is empty"},
		{"bad level", "moniker='a'\nmember='a'\n[log]\nlevel='loud'\n", "log.level"},
		{"not toml", "moniker = = 'a'", "parse"},
		{"no body timeout", "moniker='a'\nmember='a'\n[api]\nbody_timeout='0s'\n", "api.body_timeout 0s"},
		{"negative body rate", "moniker='a'\nmember='a'\n[api]\nmin_body_rate=-1\n", "api.min_body_rate -1"},
		{"small headers", "moniker='a'\nmember='a'\n[api]\nmax_header_bytes=100\n", "api.max_header_bytes 100"},
		{"no connections", "moniker='a'\nmember='a'\n[api]\nmax_connections=0\n", "api.max_connections 0"},
		{"client over node", "moniker='a'\nmember='a'\n[api]\nmax_connections=10\nmax_client_connections=11\nmax_event_streams=5\nmax_anonymous_event_streams=1\n", "api.max_client_connections 11: want 1 to api.max_connections (10)"},
		{"streams over connections", "moniker='a'\nmember='a'\n[api]\nmax_connections=10\nmax_client_connections=10\nmax_event_streams=11\n", "api.max_event_streams 11"},
		{"anonymous over streams", "moniker='a'\nmember='a'\n[api]\nmax_event_streams=4\nmax_anonymous_event_streams=5\n", "api.max_anonymous_event_streams 5: want 0 to api.max_event_streams (4)"},
		{"tiny chunks", "moniker='a'\nmember='a'\n[statesync]\nsnapshot_chunk_size=100\n", "statesync.snapshot_chunk_size 100: want 4096 to 12582912 bytes"},
		{"chunks over a message", "moniker='a'\nmember='a'\n[statesync]\nsnapshot_chunk_size=16777216\n", "statesync.snapshot_chunk_size 16777216"},
		{"keep none", "moniker='a'\nmember='a'\n[statesync]\nsnapshot_keep=0\n", "statesync.snapshot_keep 0: keep at least 1 snapshot, or set statesync.snapshot_interval = 0"},
		{"public url with a path", "moniker='a'\nmember='a'\n[api]\npublic_url='https://e.example/explorer'\n", "api.public_url \"https://e.example/explorer\": want the scheme and host only"},
		{"public url not http", "moniker='a'\nmember='a'\n[api]\npublic_url='e.example'\n", "api.public_url \"e.example\": want an absolute http or https URL"},
		{"negative interval", "moniker='a'\nmember='a'\n[statesync]\nsnapshot_interval=-1\n", "statesync.snapshot_interval -1: want a number of heights, or 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.toml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestWebhookValidation (F4, F3): a [[webhooks]] table with a name that is
// not an identifier, a URL that is not an absolute http(s) URL (or holds
// credentials), or a loopback or private IP address not in
// webhook_policy.allow is refused at load, saying what to do; so is an
// allow list entry that is not a prefix, address or host name.
func TestWebhookValidation(t *testing.T) {
	const head = "moniker='a'\nmember='a'\n"
	hook := func(name, url string) string {
		return fmt.Sprintf("[[webhooks]]\nname=%q\nurl=%q\nsecret_file='s'\n", name, url)
	}
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"NUL in name", hook("a\x00b", "https://x.example/"), "lowercase letters, digits"},
		{"dot dot", hook("..", "https://x.example/"), "not starting with punctuation"},
		{"slash", hook("a/b", "https://x.example/"), "webhooks[0].name"},
		{"upper case", hook("Core", "https://x.example/"), "webhooks[0].name"},
		{"too long", hook(strings.Repeat("a", MaxWebhookNameLen+1), "https://x.example/"), "webhooks[0].name"},
		{"twice", hook("a", "https://x.example/") + hook("a", "https://y.example/"), "used twice"},
		{"unparsable", hook("a", "http://a b/"), "webhook a: url: the URL does not parse"},
		{"not http", hook("a", "ftp://x.example/"), "not an absolute http or https URL"},
		{"relative", hook("a", "/hooks"), "not an absolute http or https URL"},
		{"no host", hook("a", "http:///hooks"), "has no host"},
		{"credentials", hook("a", "https://u:p@x.example/"), "user name or password"},
		{"loopback", hook("a", "http://127.0.0.1:26657/"), "loopback address: destination refused: webhooks go only to public addresses unless webhook_policy.allow"},
		{"private", hook("a", "http://10.0.0.8/"), "10.0.0.8 is a private address"},
		{"metadata", hook("a", "http://169.254.169.254/"), "link-local"},
		{"private not in allow", "[webhook_policy]\nallow=['10.2.0.0/16']\n" + hook("a", "http://10.3.0.1/"), "private address"},
		{"bad allow", "[webhook_policy]\nallow=['10.2.3.0/16', 'not a host']\n", "webhook_policy.allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(head + tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	allowed := "[webhook_policy]\nallow=['127.0.0.1', '10.2.0.0/16']\n" + hook("local", "http://127.0.0.1:9000/") + hook("lan", "http://10.2.7.7/")
	if _, err := Parse([]byte(head + allowed)); err != nil {
		t.Fatalf("destinations in webhook_policy.allow: %v", err)
	}
}

// TestStateSyncDefaults: a home without [statesync] takes a snapshot every
// 1000 heights and keeps two; 0 takes none.
func TestStateSyncDefaults(t *testing.T) {
	c, err := Parse([]byte("moniker='a'\nmember='a'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.StateSync; s.SnapshotInterval != 1000 || s.SnapshotKeep != 2 || s.SnapshotChunkSize != 8<<20 {
		t.Fatalf("default [statesync] = %+v", s)
	}
	c, err = Parse([]byte("moniker='a'\nmember='a'\n[statesync]\nsnapshot_interval=0\nsnapshot_keep=0\n"))
	if err != nil || c.StateSync.SnapshotInterval != 0 {
		t.Fatalf("snapshots off: %+v, %v", c, err)
	}
}

// TestTimestampConfig: [timestamp] defaults to no stamping, every 5 s
// with a 10 s timeout; a stamper reads its TSAs from [[timestamp.tsa]].
func TestTimestampConfig(t *testing.T) {
	c, err := Parse([]byte("moniker='a'\nmember='a'\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Timestamp{Interval: Duration(5 * time.Second), Timeout: Duration(10 * time.Second)}
	if !reflect.DeepEqual(c.Timestamp, want) {
		t.Fatalf("default [timestamp] = %+v, want %+v", c.Timestamp, want)
	}
	c, err = Parse([]byte(`moniker='a'
member='a'
[timestamp]
stamp = true
interval = "2s"
dev_tsa_dir = "../tsa"
dev_tsa_listen = "127.0.0.1:26609"
[[timestamp.tsa]]
name = "dev-tsa"
url = "http://127.0.0.1:26609/"
hash = "sm3"
[[timestamp.tsa]]
name = "NTSC:backup"
url = "https://tsa.example.cn/tsp"
hash = "sha256"
`))
	if err != nil {
		t.Fatal(err)
	}
	want = Timestamp{Stamp: true, Interval: Duration(2 * time.Second), Timeout: Duration(10 * time.Second), DevTSADir: "../tsa", DevTSAListen: "127.0.0.1:26609",
		TSAs: []TimestampTSA{{Name: "dev-tsa", URL: "http://127.0.0.1:26609/", Hash: "sm3"}, {Name: "NTSC:backup", URL: "https://tsa.example.cn/tsp", Hash: "sha256"}}}
	if !reflect.DeepEqual(c.Timestamp, want) {
		t.Fatalf("[timestamp] = %+v, want %+v", c.Timestamp, want)
	}
}

func TestTimestampErrors(t *testing.T) {
	const head = "moniker='a'\nmember='a'\n"
	tsa := func(name, url, hash string) string {
		return fmt.Sprintf("[[timestamp.tsa]]\nname=%q\nurl=%q\nhash=%q\n", name, url, hash)
	}
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"stamp without TSA", "[timestamp]\nstamp=true\n", "timestamp.stamp = true needs at least one [[timestamp.tsa]]"},
		{"zero interval", "[timestamp]\ninterval='0s'\n", `timestamp.interval 0s: want a positive duration such as "5s"`},
		{"negative timeout", "[timestamp]\ntimeout='-1s'\n", "timestamp.timeout -1s"},
		{"bad duration", "[timestamp]\ninterval='often'\n", `duration "often"`},
		{"unknown key", "[timestamp]\nstamps=true\n", "unknown settings: timestamp.stamps"},
		{"empty name", tsa("", "http://127.0.0.1:1/", "sm3"), `timestamp.tsa[0].name "": use 1 to 64 letters`},
		{"name with space", tsa("dev tsa", "http://127.0.0.1:1/", "sm3"), `timestamp.tsa[0].name "dev tsa"`},
		{"name twice", tsa("a", "http://127.0.0.1:1/", "sm3") + tsa("a", "http://127.0.0.1:2/", "sm3"), `timestamp.tsa[1].name "a" is used twice`},
		{"ftp", tsa("a", "ftp://tsa.example/", "sm3"), `timestamp.tsa a: url "ftp://tsa.example/": want an absolute http or https URL`},
		{"relative", tsa("a", "/tsa", "sm3"), "want an absolute http or https URL"},
		{"no host", tsa("a", "http:///tsa", "sm3"), "the URL has no host"},
		{"credentials", tsa("a", "https://u:p@tsa.example/", "sm3"), "user name or password"},
		{"no hash", tsa("a", "http://127.0.0.1:1/", ""), `timestamp.tsa a: hash "": want sm3 or sha256`},
		{"md5", tsa("a", "http://127.0.0.1:1/", "md5"), `hash "md5": want sm3 or sha256`},
		{"dir without listen", "[timestamp]\ndev_tsa_dir='tsa'\n", "timestamp.dev_tsa_dir needs timestamp.dev_tsa_listen"},
		{"listen without dir", "[timestamp]\ndev_tsa_listen='127.0.0.1:1'\n", "timestamp.dev_tsa_listen needs timestamp.dev_tsa_dir"},
		{"bad listen", "[timestamp]\ndev_tsa_dir='tsa'\ndev_tsa_listen='localhost'\n", `timestamp.dev_tsa_listen "localhost": want host:port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(head + tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingHome(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "evidenced init") {
		t.Fatalf("Load of an empty dir = %v, want a hint to run evidenced init", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("moniker='a'\nmember='a'\n"))
	f.Add([]byte("[api]\nlisten='127.0.0.1:1'\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse returned an invalid config: %v", err)
		}
	})
}

func TestExplorerURL(t *testing.T) {
	c := Default()
	c.API.Listen = "10.0.0.5:8080"
	if got := c.API.ExplorerURL(); got != "http://10.0.0.5:8080" {
		t.Errorf("default ExplorerURL = %q", got)
	}
	c.API.PublicURL = "https://evidence.bank-a.example/"
	if got := c.API.ExplorerURL(); got != "https://evidence.bank-a.example" {
		t.Errorf("ExplorerURL = %q", got)
	}
}

func TestAutoGrantConfig(t *testing.T) {
	const head = "moniker='a'\nmember='a'\n"
	c, err := Parse([]byte(head + "[originals]\nauto_grant_roles=['court','arbitration']\nauto_grant_expiry='48h'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Originals.AutoGrant(); len(got) != 2 || got[0] != ledger.RoleCourt || got[1] != ledger.RoleArbitration || time.Duration(c.Originals.AutoGrantExpiry) != 48*time.Hour {
		t.Fatalf("auto grant %v, expiry %v", got, c.Originals.AutoGrantExpiry)
	}
	if d, err := Parse([]byte(head)); err != nil || len(d.Originals.AutoGrant()) != 0 || time.Duration(d.Originals.AutoGrantExpiry) != 720*time.Hour {
		t.Fatalf("defaults: %+v, %v", d.Originals, err)
	}
	for _, tc := range []struct{ name, toml, want string }{
		{"unknown role", "[originals]\nauto_grant_roles=['judge']\n", `originals.auto_grant_roles: unknown role "judge"`},
		{"a role that files no requests", "[originals]\nauto_grant_roles=['bank']\n", "originals.auto_grant_roles: bank members file no retrieval requests"},
		{"negative expiry", "[originals]\nauto_grant_expiry='-1h'\n", "originals.auto_grant_expiry must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(head + tc.toml)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
