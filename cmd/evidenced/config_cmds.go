package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/node"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and check a node home's evidenced.toml",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newConfigShowCmd(g), newConfigValidateCmd(g))
	return cmd
}

func newConfigShowCmd(g *globals) *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "show [--home DIR]",
		Short: "Print the effective evidenced.toml: the file's settings with the defaults of the others",
		Long: `show prints the settings the node runs with: HOME/config/evidenced.toml
with a default for every setting it leaves out. The file holds no secret
(keys, passphrases, tokens and webhook secrets are in files it names); a
user name or password in a URL is still printed as "REDACTED".`,
		Example: `  evidenced config show --home ./bank
  EVIDENCED_HOME=./bank evidenced config show -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := nodeHome(home)
			if err != nil {
				return err
			}
			cfg, err := config.Load(home)
			if err != nil {
				return err
			}
			redactConfig(cfg)
			var buf bytes.Buffer
			if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
				return fmt.Errorf("encode the config: %w", err)
			}
			if g.output != "json" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			// The JSON has the TOML's names.
			var m map[string]any
			if _, err := toml.Decode(buf.String(), &m); err != nil {
				return fmt.Errorf("re-read the config: %w", err)
			}
			return printJSON(cmd.OutOrStdout(), m)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "the node home"+homeUsage)
	return cmd
}

// redactConfig hides user information in the URLs of cfg.
func redactConfig(cfg *config.Config) {
	for i := range cfg.Timestamp.TSAs {
		cfg.Timestamp.TSAs[i].URL = redactURL(cfg.Timestamp.TSAs[i].URL)
	}
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].URL = redactURL(cfg.Webhooks[i].URL)
	}
	cfg.API.PublicURL = redactURL(cfg.API.PublicURL)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("REDACTED")
	return u.String()
}

// configCheck is one finding of config validate.
type configCheck struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// configReport is the result of config validate.
type configReport struct {
	Home    string        `json:"home"`
	File    string        `json:"file"`
	Valid   bool          `json:"valid"`
	Running bool          `json:"running"`
	Checks  []configCheck `json:"checks"`
}

func newConfigValidateCmd(g *globals) *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "validate [--home DIR]",
		Short: "Check evidenced.toml, the permissions of the files it names, and that its ports are free",
		Long: `validate parses HOME/config/evidenced.toml and checks its settings as
the node does at start, and CometBFT's config.toml, then that the secret files it names (member and
client keys, passphrase file, tokens file, webhook secrets) are readable by
their owner only (0600), and, when the node is not running (its API does
not answer GET /healthz), that the API, development TSA, CometBFT p2p
and RPC listen addresses are free. It exits 1 when a check fails.`,
		Example: `  evidenced config validate --home ./bank`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := nodeHome(home)
			if err != nil {
				return err
			}
			r := validateHome(cmd.Context(), home)
			err = g.emit(cmd.OutOrStdout(), r, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					for _, c := range r.Checks {
						mark := "ok  "
						if !c.OK {
							mark = "FAIL"
						}
						ew.printf("%s  %-18s %s\n", mark, c.Check, c.Detail)
					}
				})
			})
			if err != nil {
				return err
			}
			if !r.Valid {
				return &exitError{code: 1, err: fmt.Errorf("%s has problems: see the FAIL lines", r.File)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "the node home"+homeUsage)
	return cmd
}

// validateHome runs the checks of config validate on home.
func validateHome(ctx context.Context, home string) configReport {
	r := configReport{Home: home, File: config.File(home), Valid: true}
	add := func(check string, ok bool, format string, args ...any) {
		r.Checks = append(r.Checks, configCheck{Check: check, OK: ok, Detail: fmt.Sprintf(format, args...)})
		r.Valid = r.Valid && ok
	}
	cfg, err := config.Load(home)
	if err != nil {
		add("settings", false, "%v", err)
		return r
	}
	add("settings", true, "%s parses and its settings are valid", r.File)
	secrets := []struct{ what, path string }{
		{"member key", cfg.Keys.MemberKey},
		{"client key", cfg.Keys.ClientKey},
		{"passphrase file", cfg.Keys.PassphraseFile},
		{"tokens file", cfg.API.TokensFile},
	}
	for _, w := range cfg.Webhooks {
		secrets = append(secrets, struct{ what, path string }{"webhook " + w.Name + " secret", w.SecretFile})
	}
	for _, s := range secrets {
		if s.path == "" {
			continue
		}
		p := config.Path(home, s.path)
		fi, err := os.Stat(p)
		switch {
		case err != nil && s.what == "tokens file" && os.IsNotExist(err):
			add(s.what, true, "%s does not exist yet (evidenced tokens add creates it)", p)
		case err != nil:
			add(s.what, false, "%v", err)
		case !fi.Mode().IsRegular():
			add(s.what, false, "%s is not a regular file", p)
		case fi.Mode().Perm()&0o077 != 0:
			add(s.what, false, "%s has mode %04o: others may read it; run chmod 600 %s", p, fi.Mode().Perm(), p)
		default:
			add(s.what, true, "%s (%04o)", p, fi.Mode().Perm())
		}
	}
	listens := []struct{ what, addr string }{{"api listen", cfg.API.Listen}, {"dev TSA listen", cfg.Timestamp.DevTSAListen}}
	if cc, err := node.LoadCometConfig(home); err != nil {
		add("cometbft config", false, "%v", err)
	} else {
		add("cometbft config", true, "%s parses and is valid", filepath.Join(home, "config", "config.toml"))
		listens = append(listens, struct{ what, addr string }{"p2p listen", cc.P2P.ListenAddress}, struct{ what, addr string }{"rpc listen", cc.RPC.ListenAddress})
	}
	r.Running = nodeAnswers(ctx, cfg.API.Listen)
	if r.Running {
		add("ports", true, "the node is running (its API at %s answers /healthz): ports not checked", cfg.API.Listen)
		return r
	}
	for _, l := range listens {
		addr, ok := strings.CutPrefix(l.addr, "tcp://")
		if !ok && strings.Contains(l.addr, "://") {
			continue // a unix socket, or another transport
		}
		if addr == "" {
			continue
		}
		l.addr = addr
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			add(l.what, false, "%s is not free: %v (another process listens there?)", l.addr, err)
			continue
		}
		_ = ln.Close()
		add(l.what, true, "%s is free", l.addr)
	}
	return r
}

// nodeAnswers reports whether an evidenced API at listen answers GET /healthz.
func nodeAnswers(ctx context.Context, listen string) bool {
	if listen == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct {
		Status string `json:"status"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&h) == nil && h.Status == "ok"
}
