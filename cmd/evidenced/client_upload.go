package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/api"
	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// progressMin is the file size from which submit --upload reports progress
// on stderr.
const progressMin = 16 << 20

// uploaded is one file's outcome, as printed with --output json. It never
// holds the salt, which is a secret kept only in the 0600 sidecar: Result is
// the transaction outcome alone, as submit prints it.
type uploaded struct {
	File       string               `json:"file"`
	Sidecar    string               `json:"sidecar"`
	Chain      string               `json:"chain"`
	Step       uint32               `json:"step"`
	Commitment crypto.Hash          `json:"commitment"`
	Size       uint64               `json:"size"`
	Cipher     crypto.Hash          `json:"cipher"`
	CipherSize uint64               `json:"cipher_size"`
	Result     *client.SubmitResult `json:"result"`
}

// runUpload is submit --upload: each FILE is streamed to the node, which
// keeps it encrypted, and signs and commits its record with its client key.
func runUpload(cmd *cobra.Command, g *globals, o *submitOpts, paths []string) error {
	switch {
	case o.key != "":
		return errors.New("--key is not used with --upload: the node signs with its own client key; give --token-file instead")
	case o.batch:
		return errors.New("--batch cannot be used with --upload: upload the files one by one, as consecutive steps")
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return err
	}
	// The same checks as submit: flags, files, sidecars not in the way.
	files, err := planSubmit(o, paths, labels)
	if err != nil {
		return err
	}
	token, err := apiToken(o.tokenFile)
	if err != nil {
		return err
	}
	c, err := client.New(o.node, client.WithToken(token))
	if err != nil {
		return fmt.Errorf("--node %q is not a node URL: use http://HOST:PORT, for example %s", o.node, defaultNode)
	}
	st, err := callNode(cmd, c, queryTimeout, nodeStatus)
	if err != nil {
		return err
	}
	var done []uploaded
	for i := range files {
		u, err := uploadFile(cmd, g, o, c, st.ChainID, ledger.LabelMap(labels), &files[i])
		if err != nil {
			if i > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d of %d files were preserved before this failure; continue from step %d\n", i, len(files), files[i].step)
			}
			if g.output == "json" {
				printJSON(cmd.OutOrStdout(), map[string]any{"submissions": done})
			}
			return err
		}
		done = append(done, *u)
	}
	if g.output == "json" {
		return printJSON(cmd.OutOrStdout(), map[string]any{"submissions": done})
	}
	return nil
}

// apiToken reads the node's API bearer token: the first line of file that
// is not empty or a # comment, else $EVIDENCED_TOKEN.
func apiToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				if strings.HasPrefix(t, api.TokenDigestPrefix) {
					return "", fmt.Errorf("--token-file %s holds a token's SM3 digest (it is a node's api.tokens_file), not the token: give the token file, e.g. ALLIANCE/client/MEMBER-api-token from evidenced testnet", file)
				}
				return t, nil
			}
		}
		return "", fmt.Errorf("--token-file %s holds no token", file)
	}
	if t := strings.TrimSpace(os.Getenv(envToken)); t != "" {
		return t, nil
	}
	return "", fmt.Errorf("this command acts through the node's member and needs its API token: give --token-file FILE or set %s (the node's api.tokens_file lists them)", envToken)
}

// uploadFile streams f to the node, writes its sidecar with the salt the
// node returns, and prints the outcome.
func uploadFile(cmd *cobra.Command, g *globals, o *submitOpts, c *client.Client, chainID string, labels map[string]string, f *evidenceFile) (*uploaded, error) {
	in, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("evidence file: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return nil, fmt.Errorf("evidence file: %w", err)
	}
	var r io.Reader = in
	if fi.Size() >= progressMin {
		r = &progressReader{r: in, total: fi.Size(), name: f.path, w: cmd.ErrOrStderr()}
	}
	ctx := cmd.Context()
	res, err := c.UploadOriginal(ctx, r, fi.Size(), client.OriginalParams{
		Kind: o.kind, Chain: f.chain, Step: f.step, Labels: labels, Wait: !o.noWait, Timeout: o.timeout,
	})
	if err != nil {
		return nil, uploadError(c, f, err)
	}
	if res.Size != uint64(fi.Size()) || len(res.Salt) != crypto.SaltSize {
		return nil, fmt.Errorf("%w: the node kept %d bytes with a %d-byte salt, but %s has %d bytes; check transaction %s with `evidenced get %s`",
			client.ErrBadResponse, res.Size, len(res.Salt), f.path, fi.Size(), res.TxID, res.TxID)
	}
	f.size, f.salt, f.comm = res.Size, res.Salt, res.Commitment
	sc := &sidecar.File{Version: sidecar.Version, Name: filepath.Base(f.path), Size: res.Size, Salt: sidecar.Salt(res.Salt), Commitment: res.Commitment,
		Chain: f.chain, Step: f.step, Kind: o.kind, Labels: labels, Status: sidecar.StatusPending, TxID: res.TxID, ChainID: chainID,
		Kept: &sidecar.Kept{Cipher: res.Cipher, CipherSize: res.CipherSize, Owner: res.Signer}}
	if res.Status == client.StatusCommitted {
		sc.MarkCommitted(res.Index, res.Height, res.Time)
	}
	save := sidecar.SaveNew
	if o.force {
		save = sidecar.Save
	}
	if err := save(f.sidecar, sc); err != nil {
		return nil, fmt.Errorf("transaction %s was accepted, but writing sidecar %s failed: %w; the salt is %x: save it with the file", res.TxID, f.sidecar, err, []byte(res.Salt))
	}
	u := &uploaded{File: f.path, Sidecar: f.sidecar, Chain: f.chain, Step: f.step, Commitment: res.Commitment, Size: res.Size,
		Cipher: res.Cipher, CipherSize: res.CipherSize, Result: res.SubmitResult()}
	if g.output != "json" {
		w := cmd.OutOrStdout()
		if res.Status == client.StatusCommitted {
			fmt.Fprintf(w, "%s: chain %s step %d: entry %d, height %d, block time %s\n  tx %s\n",
				f.path, f.chain, f.step, res.Index, res.Height, formatTime(res.Time), res.TxID)
		} else {
			fmt.Fprintf(w, "%s: chain %s step %d: accepted into the mempool, not yet committed\n  tx %s (check with `evidenced get %s`)\n",
				f.path, f.chain, f.step, res.TxID, res.TxID)
		}
		fmt.Fprintf(w, "  the node keeps the original encrypted: %d bytes of ciphertext at %s\n", res.CipherSize, res.Cipher)
		fmt.Fprintf(w, "  salt and commitment saved to %s: keep it with the file, it is needed to prove the file later\n", f.sidecar)
	}
	return u, nil
}

// uploadError explains a failed upload and picks the exit status.
func uploadError(c *client.Client, f *evidenceFile, err error) error {
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.IsRejection():
			msg := fmt.Sprintf("%s: rejected: %s (%d): %s", f.path, apiErr.Code, apiErr.ResultCode, apiErr.Message)
			if apiErr.Hint != "" {
				msg += "\n  hint: " + apiErr.Hint
			}
			return &exitError{code: 2, err: errors.New(msg + "\n  the node kept nothing")}
		case apiErr.Code == client.CodeTimeout:
			return fmt.Errorf("%s: the record was not committed in time and may still commit: check with `evidenced get %s`; "+
				"no sidecar was written, and the salt is recoverable only with the owner's member key: %w", f.path, apiErr.TxID, err)
		case apiErr.Status == 413:
			return fmt.Errorf("%s is larger than the node accepts: %w", f.path, err)
		}
	}
	return fmt.Errorf("%s: %w", f.path, nodeError(c, err))
}

// progressReader reports on w each further tenth of total read.
type progressReader struct {
	r     io.Reader
	total int64
	name  string
	w     io.Writer
	n     int64 // bytes read
	shown int64 // tenths reported
}

func (p *progressReader) Read(b []byte) (int, error) {
	k, err := p.r.Read(b)
	p.n += int64(k)
	if tenth := p.n * 10 / p.total; tenth > p.shown {
		p.shown = tenth
		fmt.Fprintf(p.w, "uploading %s: %d of %d MiB (%d%%)\n", p.name, p.n>>20, p.total>>20, tenth*10)
	}
	return k, err
}
