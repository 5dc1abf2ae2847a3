package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/tsa"
)

func newTSACmd() *cobra.Command {
	var dir, kind, listen, name string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "tsa --dir DIR [--kind sm2|ecdsa] [--listen 127.0.0.1:3161] [--name NAME]",
		Short: "Run a development RFC 3161 time-stamping authority (可信时间戳, for development and tests)",
		Long: `Run a development time-stamping authority (TSA) that serves RFC 3161 over
HTTP: POST a TimeStampReq as application/timestamp-query, get a TimeStampResp
as application/timestamp-reply.

On first run it makes, in --dir, a CA certificate (the anchor to put in the
genesis: ` + tsa.CAFile + `), a signing certificate with the critical extended key
usage timeStamping (` + tsa.CertFile + `) and its key (` + tsa.KeyFile + `, mode 0600),
SM2 with SM3 (--kind sm2) or ECDSA P-256 with SHA-256 (--kind ecdsa). Later
runs load them. Ctrl-C stops it.

A production alliance trusts licensed TSAs instead. Check a standard token with
  openssl ts -verify -data FILE -in reply.tsr -CAfile DIR/` + tsa.CAFile,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := openAuthority(cmd, dir, kind, name, validity)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			a.SetLogger(logger)
			if err := a.ValidAt(time.Now()); err != nil {
				logger.Warn("the signing certificate is not valid now: its tokens will not verify", "err", err)
			}
			ln, err := tsa.Listen(listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", listen, err)
			}
			srv := a.Server(logger)
			fmt.Fprintf(cmd.OutOrStdout(), "TSA %q (%s) serving RFC 3161 on http://%s/ (Ctrl-C stops it)\n", a.Name(), a.Kind(), ln.Addr())
			ctx := cmd.Context()
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return fmt.Errorf("serve RFC 3161 on %s: %w", ln.Addr(), err)
			case <-ctx.Done():
			}
			shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutCtx); err != nil {
				return fmt.Errorf("stop the TSA: %w", err)
			}
			logger.Info("TSA stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory of the authority's key and certificates (made on first run)")
	cmd.Flags().StringVar(&kind, "kind", "", "key kind on first run: sm2 (default) or ecdsa")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:3161", "address to serve RFC 3161 on")
	cmd.Flags().StringVar(&name, "name", "evidenced development TSA", "the authority's name (its certificate's CN) on first run")
	cmd.Flags().DurationVar(&validity, "validity", 5*365*24*time.Hour, "how long the certificates made on first run are valid")
	_ = cmd.MarkFlagRequired("dir")

	var certDir string
	certCmd := &cobra.Command{
		Use:   "cert --dir DIR",
		Short: "Print the authority's anchor certificate (PEM), for the genesis",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := tsa.LoadAuthority(certDir)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate()}))
			return err
		},
	}
	certCmd.Flags().StringVar(&certDir, "dir", "", "directory of the authority")
	_ = certCmd.MarkFlagRequired("dir")
	cmd.AddCommand(certCmd)
	return cmd
}

// openAuthority loads the authority in dir, or makes one there when dir has none.
func openAuthority(cmd *cobra.Command, dir, kind, name string, validity time.Duration) (*tsa.Authority, error) {
	_, err := os.Stat(filepath.Join(dir, tsa.KeyFile))
	if err == nil {
		a, err := tsa.LoadAuthority(dir)
		if err != nil {
			return nil, err
		}
		if kind != "" && tsa.KeyKind(kind) != a.Kind() {
			return nil, fmt.Errorf("the authority in %s is %s, not %s: use another --dir for a new one", dir, a.Kind(), kind)
		}
		return a, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open the authority in %s: %w", dir, err)
	}
	if kind == "" {
		kind = string(tsa.SM2)
	}
	k, err := tsa.ParseKeyKind(kind)
	if err != nil {
		return nil, err
	}
	a, err := tsa.NewAuthority(k, name, time.Now(), validity)
	if err != nil {
		return nil, err
	}
	if err := a.Save(dir); err != nil {
		return nil, err
	}
	ca := a.Certificate()
	sm3 := crypto.SM3(ca)
	sha := sha256.Sum256(ca)
	fmt.Fprintf(cmd.OutOrStdout(), `Made a %s time-stamping authority %q in %s:
  key          %s (mode 0600)
  certificates %s (signing certificate, then CA)
  anchor       %s (put it in the genesis; evidenced tsa cert --dir %s prints it)
  anchor SM3 fingerprint     %s
  anchor SHA-256 fingerprint %s
`, k, a.Name(), dir, filepath.Join(dir, tsa.KeyFile), filepath.Join(dir, tsa.CertFile),
		filepath.Join(dir, tsa.CAFile), dir, hex.EncodeToString(sm3[:]), hex.EncodeToString(sha[:]))
	return a, nil
}
