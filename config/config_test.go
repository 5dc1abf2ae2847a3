package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
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
	c.Webhooks = []Webhook{{Name: "loans", URL: "https://core.bank.example/hooks", SecretFile: "config/hook-secret", Types: []string{"evidence", "grant"}, Chain: "LOAN-1"}}
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
