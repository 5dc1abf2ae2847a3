package main

import (
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/keyfile"
)

// keyInfo is what the keys commands print about a key.
type keyInfo struct {
	File      string          `json:"file"`
	Private   bool            `json:"private"`             // the file holds a private key
	Encrypted bool            `json:"encrypted,omitempty"` // the private key file is passphrase-protected
	KeyID     crypto.KeyID    `json:"key_id"`
	ShortID   string          `json:"short_id"`
	PublicKey client.HexBytes `json:"public_key"` // 65-byte uncompressed point
	PublicPEM string          `json:"public_pem"`
}

func newKeyInfo(file string, pub *crypto.PublicKey, private, encrypted bool) (*keyInfo, error) {
	p, err := pub.MarshalPEM()
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	id := pub.ID()
	return &keyInfo{File: file, Private: private, Encrypted: encrypted, KeyID: id, ShortID: id.Short(),
		PublicKey: pub.Bytes(), PublicPEM: string(p)}, nil
}

func (k *keyInfo) text(w io.Writer) error {
	kind := "public key"
	if k.Private {
		kind = "private key (unencrypted)"
		if k.Encrypted {
			kind = "private key (encrypted)"
		}
	}
	return lines(w, func(ew *errWriter) {
		ew.printf("file:       %s (%s)\n", k.File, kind)
		ew.printf("key id:     %s\n", k.KeyID)
		ew.printf("short id:   %s\n", k.ShortID)
		ew.printf("public key: %s\n", k.PublicKey)
		ew.printf("%s", k.PublicPEM)
	})
}

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, show and import SM2 key files",
		Long: `Manage the SM2 key files that sign transactions.

Private keys are stored as PKCS#8 PEM files with mode 0600, encrypted with a
passphrase (PBES2, PBKDF2-HMAC-SHA256, SM4-CBC) unless --no-passphrase is
given. The passphrase comes from --passphrase-file, else the
EVIDENCED_PASSPHRASE environment variable, else a prompt on the terminal.

A key is named by its key id: SM3 of the 65-byte public key, 64 hex digits
(the short id is its first 16).`,
		Example: `  evidenced keys generate --out bank-a.key
  evidenced keys show bank-a.key
  evidenced keys import --in openssl-sm2.pem --out bank-a.key --passphrase-file pass.txt`,
	}
	cmd.AddCommand(newKeysGenerateCmd(g), newKeysShowCmd(g), newKeysImportCmd(g), newKeysRotateCmd(g))
	return cmd
}

func newKeysGenerateCmd(g *globals) *cobra.Command {
	var out, passFile string
	var noPass bool
	cmd := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Generate a new SM2 private key file",
		Long: `Generate a new random SM2 key and write it to a new file (mode 0600).

The key is encrypted under a passphrase from --passphrase-file or
EVIDENCED_PASSPHRASE, or asked twice on the terminal. Writing an unencrypted
key needs an explicit --no-passphrase. An existing file is never
overwritten. Prints the key id and public key, which go into the alliance
roster.`,
		Example: `  evidenced keys generate --out bank-a.key
  evidenced keys generate --out bank-a.key --passphrase-file pass.txt
  evidenced keys generate --out test.key --no-passphrase -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out FILE is required: where to write the new key")
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("%s already exists: a key file is never overwritten; choose another --out", out)
			}
			pass, err := newKeyPassphrase(cmd, passFile, noPass)
			if err != nil {
				return err
			}
			k, err := crypto.GenerateKey(rand.Reader)
			if err != nil {
				return fmt.Errorf("generate key: %w", err)
			}
			return saveKey(cmd, g, out, k, pass)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the new private key to (must not exist)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line is the passphrase for the new key")
	cmd.Flags().BoolVar(&noPass, "no-passphrase", false, "write the key unencrypted (only for tests and throwaway keys)")
	return cmd
}

func newKeysShowCmd(g *globals) *cobra.Command {
	var passFile string
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Show the key id and public key of a key file",
		Long: `Show the key id, short id, public key (hex) and public key PEM of a key file.

FILE may be a private key file (any PEM form: PKCS#8, encrypted PKCS#8,
SEC 1 "EC PRIVATE KEY"; an encrypted one needs its passphrase) or a
"PUBLIC KEY" PEM file.`,
		Example: `  evidenced keys show bank-a.key
  evidenced keys show --passphrase-file pass.txt bank-a.key -o json
  evidenced keys show bank-a.pub.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read key: %w", err)
			}
			var info *keyInfo
			if b, _ := pem.Decode(data); b != nil && b.Type == "PUBLIC KEY" {
				pub, err := crypto.ParsePublicKeyPEM(data)
				if err != nil {
					return fmt.Errorf("key %s: %w", path, err)
				}
				info, err = newKeyInfo(path, pub, false, false)
				if err != nil {
					return err
				}
			} else {
				_, perr := crypto.ParsePrivateKeyPEM(data, nil)
				encrypted := errors.Is(perr, crypto.ErrPassphraseRequired)
				k, err := loadKey(cmd, path, passFile, true)
				if err != nil {
					return err
				}
				info, err = newKeyInfo(path, k.Public(), true, encrypted)
				if err != nil {
					return err
				}
			}
			return g.emit(cmd.OutOrStdout(), info, info.text)
		},
	}
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line is the key's passphrase")
	return cmd
}

func newKeysImportCmd(g *globals) *cobra.Command {
	var in, out, inPassFile, passFile string
	var noPass bool
	cmd := &cobra.Command{
		Use:   "import --in KEY.pem --out FILE",
		Short: "Import an SM2 private key made by another tool (OpenSSL, GmSSL)",
		Long: `Read an SM2 private key in any PEM form OpenSSL 3 writes — PKCS#8
"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", SEC 1 "EC PRIVATE KEY" (with or
without an "EC PARAMETERS" block) — and write it as an evidenced key file:
PKCS#8, mode 0600, encrypted under a new passphrase.

The input file must not be readable by other users (chmod 600). An
encrypted input needs its passphrase: --in-passphrase-file, or a prompt on
the terminal. The new passphrase comes from --passphrase-file or
EVIDENCED_PASSPHRASE or a prompt; --no-passphrase writes it unencrypted.`,
		Example: `  openssl genpkey -algorithm SM2 -out sm2.pem && chmod 600 sm2.pem
  evidenced keys import --in sm2.pem --out bank-a.key --passphrase-file pass.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if in == "" || out == "" {
				return errors.New("--in KEY.pem and --out FILE are both required")
			}
			if _, err := os.Lstat(out); err == nil {
				return fmt.Errorf("%s already exists: a key file is never overwritten; choose another --out", out)
			}
			k, err := loadKey(cmd, in, inPassFile, false)
			if err != nil {
				return err
			}
			pass, err := newKeyPassphrase(cmd, passFile, noPass)
			if err != nil {
				return err
			}
			return saveKey(cmd, g, out, k, pass)
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "PEM file holding the SM2 private key to import")
	cmd.Flags().StringVar(&out, "out", "", "evidenced key file to write (must not exist)")
	cmd.Flags().StringVar(&inPassFile, "in-passphrase-file", "", "file whose first line is the passphrase of an encrypted --in key")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line is the passphrase for the new key file")
	cmd.Flags().BoolVar(&noPass, "no-passphrase", false, "write the new key file unencrypted")
	return cmd
}

// saveKey writes k to out (encrypted with pass when set) and prints what
// was written.
func saveKey(cmd *cobra.Command, g *globals, out string, k *crypto.PrivateKey, pass []byte) error {
	if err := keyfile.Save(out, k, pass); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	info, err := newKeyInfo(out, k.Public(), true, len(pass) > 0)
	if err != nil {
		return err
	}
	return g.emit(cmd.OutOrStdout(), info, info.text)
}
