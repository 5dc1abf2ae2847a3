package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
)

func newTokensCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Add, list and migrate the bearer tokens of a node's API",
		Long: `Manage a node's api.tokens_file: the bearer tokens business systems send to
its API, each as sm3: and the token's SM3 digest (the node never keeps the
token) with the scopes it allows:

  sm3:HEX scopes=submit,originals  # core banking

  submit     POST /v1/evidence, POST /v1/originals (the node signs with its client key)
  originals  GET /v1/evidence/{id}/original (logs an access, decrypts the original)
  grant      POST /v1/grants, POST /v1/grants/{index}/revoke
  webhooks   POST, GET, DELETE /v1/webhooks (the token's own subscriptions)
  govern     POST /v1/proposals, POST /v1/proposals/{index}/votes (roster changes, by the member key)
  admin      every scope, and every webhook subscription

A line without scopes= (older files) keeps full access (admin), and a line
may hold a token in the clear (older files); the node warns of both at
start, and 'tokens migrate' rewrites them. A token is named by its id, the
first 16 hex digits of its digest. The node reads the file at start: restart
it after a change.`,
		Example: `  evidenced tokens add --home ./bank --scopes submit,originals --comment "core banking"
  evidenced tokens list --home ./bank
  evidenced tokens migrate --home ./bank`,
	}
	cmd.AddCommand(newTokensAddCmd(g), newTokensListCmd(g), newTokensMigrateCmd(g))
	return cmd
}

// tokensFile binds --home and --file, which name the tokens file.
type tokensFile struct{ home, file string }

func (t *tokensFile) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.home, "home", "", "the node's home: its evidenced.toml names the file (api.tokens_file)"+homeUsage)
	cmd.Flags().StringVar(&t.file, "file", "", "the tokens file itself, instead of --home")
}

// defaultHome sets the home to the default one when neither --home nor
// --file was given.
func (t *tokensFile) defaultHome() error {
	if t.file != "" {
		return nil
	}
	h, err := nodeHome(t.home)
	if err != nil {
		return fmt.Errorf("%w (or give --file FILE, the node's api.tokens_file)", err)
	}
	t.home = h
	return nil
}

// path returns the tokens file's path.
func (t *tokensFile) path() (string, error) {
	switch {
	case t.home != "" && t.file != "":
		return "", errors.New("give --home or --file, not both")
	case t.file != "":
		return t.file, nil
	}
	if err := t.defaultHome(); err != nil {
		return "", err
	}
	cfg, err := config.Load(t.home)
	if err != nil {
		return "", err
	}
	if cfg.API.TokensFile == "" {
		return "", fmt.Errorf("%s sets no api.tokens_file: add tokens_file = \"config/api-tokens\" under [api] (tokens add creates the file), or give --file", config.File(t.home))
	}
	return config.Path(t.home, cfg.API.TokensFile), nil
}

// defaultTokensFile is the tokens file `tokens add --home` sets up in a
// home whose evidenced.toml names none (as `evidenced testnet` does).
const defaultTokensFile = "config/api-tokens"

// enable sets api.tokens_file to defaultTokensFile in a home (--home) whose
// evidenced.toml names no tokens file, for add: the operator asked to give
// the home's API a token. It returns the file set, or "" when there was
// nothing to do.
func (t *tokensFile) enable() (string, error) {
	if t.file != "" {
		return "", nil
	}
	if err := t.defaultHome(); err != nil {
		return "", err
	}
	cfg, err := config.Load(t.home)
	if err != nil {
		return "", err
	}
	if cfg.API.TokensFile != "" {
		return "", nil
	}
	cfg.API.TokensFile = defaultTokensFile
	if err := cfg.Save(t.home); err != nil {
		return "", fmt.Errorf("set api.tokens_file in %s: %w", config.File(t.home), err)
	}
	return defaultTokensFile, nil
}

// read returns the file and its tokens; a missing file is empty when
// missingOK, else an error.
func (t *tokensFile) read(missingOK bool) (path string, b []byte, lines []api.TokenLine, err error) {
	if path, err = t.path(); err != nil {
		return "", nil, nil, err
	}
	b, err = os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && missingOK:
		return path, nil, nil, nil
	case errors.Is(err, fs.ErrNotExist):
		return "", nil, nil, fmt.Errorf("there is no tokens file %s: evidenced tokens add creates it", path)
	case err != nil:
		return "", nil, nil, fmt.Errorf("read the tokens file: %w", err)
	}
	if lines, err = api.ParseTokens(b); err != nil {
		return "", nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return path, b, lines, nil
}

// tokenInfo is what the tokens commands print about a token: never the
// token itself.
type tokenInfo struct {
	Line     int         `json:"line"`
	ID       string      `json:"id"`
	Digest   crypto.Hash `json:"digest"`
	Scopes   string      `json:"scopes"`
	InClear  bool        `json:"in_clear,omitempty"`
	Unscoped bool        `json:"unscoped,omitempty"`
	Comment  string      `json:"comment,omitempty"`
}

func newTokenInfo(l api.TokenLine) tokenInfo {
	return tokenInfo{Line: l.Line, ID: l.ID(), Digest: l.Digest, Scopes: l.Scopes.String(), InClear: l.InClear, Unscoped: l.Unscoped, Comment: l.Comment}
}

// oldForm says what is old about the line ("" when nothing is).
func (ti tokenInfo) oldForm() string {
	var old []string
	if ti.InClear {
		old = append(old, "the token in the clear")
	}
	if ti.Unscoped {
		old = append(old, "no scopes=, so full access")
	}
	return strings.Join(old, "; ")
}

func newTokensAddCmd(g *globals) *cobra.Command {
	var f tokensFile
	var scopeList, comment, out string
	cmd := &cobra.Command{
		Use:   "add [--home DIR | --file FILE] --scopes LIST",
		Short: "Draw a new API token and add its digest and scopes to the tokens file",
		Long: `add draws a random token, appends "sm3:DIGEST scopes=LIST" to the node's
tokens file (created if missing, written atomically, mode 0600), and prints
the token once: the file keeps only its digest. With --out the token goes
to a new file (0600) instead of the output. Restart the node to take it
into use. In a home whose evidenced.toml names no tokens file (one made by
'evidenced init' or 'evidenced join'), add sets api.tokens_file =
"config/api-tokens" first.`,
		Example: `  evidenced tokens add --home ./bank --scopes submit,originals --comment "core banking"
  evidenced tokens add --home ./bank --scopes webhooks --out notifier-api-token
  evidenced tokens add --file /etc/evidenced/api-tokens --scopes admin -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if scopeList == "" {
				return fmt.Errorf("--scopes LIST is required: some of %s, comma-separated", strings.Join(api.ScopeNames(), ", "))
			}
			scopes, err := api.ParseScopes(scopeList)
			if err != nil {
				return fmt.Errorf("--scopes: %w", err)
			}
			enabled, err := f.enable()
			if err != nil {
				return err
			}
			if enabled != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s set no api.tokens_file: set tokens_file = %q under [api], so the node's API takes tokens.\n", config.File(f.home), enabled)
			}
			path, b, _, err := f.read(true)
			if err != nil {
				return err
			}
			if b == nil {
				b = []byte(api.TokensFileHeader)
			}
			if len(b) > 0 && b[len(b)-1] != '\n' {
				b = append(b, '\n')
			}
			token, err := api.GenerateToken(rand.Reader)
			if err != nil {
				return err
			}
			tok := api.NewToken(token, scopes)
			b = append(b, api.FormatTokenLine(tok, comment)+"\n"...)
			if out != "" {
				if err := atomicfile.WriteNew(out, []byte(token+"\n"), 0o600); err != nil {
					return fmt.Errorf("--out: %w (a token file is never overwritten)", err)
				}
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
				if out != "" {
					os.Remove(out)
				}
				return fmt.Errorf("add the token: %w", err)
			}
			info := newTokenInfo(api.TokenLine{Token: tok, Line: strings.Count(string(b), "\n"), Comment: strings.TrimSpace(comment)})
			res := struct {
				File      string `json:"file"`
				Token     string `json:"token,omitempty"`
				TokenFile string `json:"token_file,omitempty"`
				tokenInfo
			}{File: path, tokenInfo: info}
			if out != "" {
				res.TokenFile = out
			} else {
				res.Token = token
			}
			return g.emit(cmd.OutOrStdout(), res, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					ew.printf("Added token %s (scopes %s) as line %d of %s.\n", info.ID, info.Scopes, info.Line, path)
					if out != "" {
						ew.printf("The token is in %s (mode 0600); the node keeps only its SM3 digest.\n", out)
					} else {
						ew.printf("The token, shown only now (the node keeps only its SM3 digest):\n%s\n", token)
					}
					ew.printf("Its holder sends \"Authorization: Bearer <token>\". Restart the node to take it into use.\n")
				})
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&scopeList, "scopes", "", "what the token may do, comma-separated: "+strings.Join(api.ScopeNames(), ", ")+" (required)")
	cmd.Flags().StringVar(&comment, "comment", "", "a note on the line, such as who holds the token")
	cmd.Flags().StringVar(&out, "out", "", "write the token to this new file (0600) instead of printing it")
	return cmd
}

func newTokensListCmd(g *globals) *cobra.Command {
	var f tokensFile
	cmd := &cobra.Command{
		Use:   "list [--home DIR | --file FILE]",
		Short: "List the tokens of the tokens file: ids, scopes and comments, never the tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, _, tls, err := f.read(false)
			if err != nil {
				return err
			}
			infos := make([]tokenInfo, len(tls))
			for i, l := range tls {
				infos[i] = newTokenInfo(l)
			}
			res := struct {
				File   string      `json:"file"`
				Tokens []tokenInfo `json:"tokens"`
			}{path, infos}
			return g.emit(cmd.OutOrStdout(), res, func(w io.Writer) error {
				return table(w, func(ew *errWriter) {
					ew.printf("LINE\tID\tSCOPES\tNOTE\n")
					for _, ti := range infos {
						note := ti.Comment
						if old := ti.oldForm(); old != "" {
							note = strings.TrimSpace("(" + old + ": run evidenced tokens migrate) " + note)
						}
						ew.printf("%d\t%s\t%s\t%s\n", ti.Line, ti.ID, ti.Scopes, note)
					}
				})
			})
		},
	}
	f.bind(cmd)
	return cmd
}

func newTokensMigrateCmd(g *globals) *cobra.Command {
	var f tokensFile
	var scopeList string
	cmd := &cobra.Command{
		Use:   "migrate [--home DIR | --file FILE]",
		Short: "Rewrite the old lines of the tokens file: digests for tokens in the clear, scopes for lines without",
		Long: `migrate rewrites, in place and atomically (mode 0600), each line of the
tokens file that holds a token in the clear (it gets sm3: and the digest)
or names no scopes (it gets --scopes, admin by default: the full access such
a line gives). Comments and other lines stay as they are. Narrow the scopes
of each token to what its holder needs, with --scopes for every old line or
by editing the lines after.`,
		Example: `  evidenced tokens migrate --home ./bank
  evidenced tokens migrate --file /etc/evidenced/api-tokens --scopes submit,originals`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			scopes, err := api.ParseScopes(scopeList)
			if err != nil {
				return fmt.Errorf("--scopes: %w", err)
			}
			path, b, _, err := f.read(false)
			if err != nil {
				return err
			}
			migrated, changed, err := api.MigrateTokens(b, scopes)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if len(changed) > 0 {
				if err := atomicfile.WriteFile(path, migrated, 0o600); err != nil {
					return fmt.Errorf("migrate the tokens file: %w", err)
				}
			}
			infos := make([]tokenInfo, len(changed))
			inClear := false
			for i, l := range changed {
				infos[i] = newTokenInfo(l)
				inClear = inClear || l.InClear
			}
			res := struct {
				File     string      `json:"file"`
				Migrated []tokenInfo `json:"migrated"`
			}{path, infos}
			return g.emit(cmd.OutOrStdout(), res, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					if len(infos) == 0 {
						ew.printf("Nothing to migrate: every token of %s is sm3: with its scopes.\n", path)
						return
					}
					for _, ti := range infos {
						ew.printf("line %d: token %s is now sm3:DIGEST scopes=%s (it had %s)\n", ti.Line, ti.ID, ti.Scopes, ti.oldForm())
					}
					if inClear {
						ew.printf("The file held tokens in the clear: older copies of it (backups) still do.\n")
					}
					ew.printf("Migrated %s. Restart the node to take it into use.\n", path)
				})
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&scopeList, "scopes", api.ScopeAdmin.String(), "the scopes to give each line without scopes=")
	return cmd
}
