package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/internal/atomicfile"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// addTxCommands registers tx build and tx attach (external signing).
func addTxCommands(root *cobra.Command, g *globals) {
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign evidence transactions outside evidenced (HSMs, other SM2 implementations)",
		Long: `Build an evidence transaction here, sign its body anywhere, assemble it here.

  1. evidenced tx build   writes DIR/body.bin, the exact bytes to sign, and
                          DIR/body.json, what they say and how to sign them;
                          the salts go to FILE.evidence.json as with submit.
  2. sign DIR/body.bin with SM2 (SM3, user id 1234567812345678), DER output,
     on an HSM, with OpenSSL 3 or with any other SM2 implementation.
  3. evidenced tx attach  checks the signature, writes the signed transaction
                          and, with --submit, sends it and waits for commit.

body.bin holds only salted commitments, kinds, steps and labels, never a
salt or a file, so it may be carried to the signer.`,
	}
	cmd.AddCommand(newTxBuildCmd(g), newTxAttachCmd(g))
	root.AddCommand(cmd)
}

type txBuildOpts struct {
	submitOpts
	keyID, pub, chainID, out string
	prevs                    []string
}

func newTxBuildCmd(g *globals) *cobra.Command {
	o := &txBuildOpts{}
	cmd := &cobra.Command{
		Use:   "build --key-id HEX|--pub PUB.pem --chain ID --step N --kind KIND --out DIR FILE...",
		Short: "Write the unsigned body of an evidence transaction and the exact bytes to sign",
		Long: `Build an evidence transaction for FILE without signing it.

As with submit, a random salt is drawn for each FILE and the commitment
SM3(salt ‖ file bytes) computed; the salt is written to FILE.evidence.json
(status pending, with the transaction id) and never leaves this machine.
Into --out DIR (created if missing) go:

  body.bin   the exact body bytes. They are the message to sign: SM2 with
             SM3 and user id 1234567812345678 over these bytes (not a hash
             of them), DER signature. The transaction id is SM3(body.bin).
  body.json  the decoded body, the transaction id, the OpenSSL command line
             that signs it, and (with --pub) the SM2 digest e = SM3(Z_A ‖
             body.bin) for signers that take a precomputed digest.

The signer is named by its key id, SM3 of its 65-byte public key: give
--pub PUB.pem (the id is computed, and tx attach can check the signature
offline) or --key-id HEX.

One FILE makes an evidence transaction for step N of chain ID. Several
files need --batch: file i (from 1) becomes step N of chain "ID.i".

The node (--node) is asked for the alliance chain id and for the prev link
of step N > 1, and checks that N is the chain's next step. Offline, pass
--chain-id and, for N > 1, --prev HEX (the leaf hash of step N-1's entry,
shown by ` + "`evidenced chain ID`" + `; one --prev per file with --batch).

The body carries the current time: the signed transaction must reach the
ledger within the alliance's time window (15 minutes by default).`,
		Example: `  evidenced tx build --node http://bank-a:8080 --pub hsm-key.pub.pem \
      --chain LOAN-2026-000001 --step 3 --kind loan-contract --out sign/ contract.pdf
  openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678 \
      -inkey key.pem -in sign/body.bin -out sign/sig.der
  evidenced tx attach --body sign/body.bin --signature sign/sig.der \
      --pub hsm-key.pub.pem --out sign/tx.bin --submit --node http://bank-a:8080`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTxBuild(cmd, g, o, args)
		},
	}
	cmd.AddCommand(newTxBuildProposeCmd(g), newTxBuildVoteCmd(g))
	f := cmd.Flags()
	nodeFlag(cmd, &o.node)
	f.StringVar(&o.keyID, "key-id", "", "key id (64 hex digits) of the SM2 key that will sign")
	f.StringVar(&o.pub, "pub", "", "PUBLIC KEY PEM file of the SM2 key that will sign")
	f.StringVar(&o.chain, "chain", "", "evidence chain id (保全号), e.g. LOAN-2026-000001")
	f.Uint32Var(&o.step, "step", 0, "step number in the chain: 1 starts a new chain")
	f.StringVar(&o.kind, "kind", "", "what the evidence is, e.g. loan-contract (lowercase, digits, . _ -)")
	f.StringArrayVar(&o.labels, "label", nil, "non-personal label key=value (repeatable)")
	f.BoolVar(&o.batch, "batch", false, "put all files in one transaction: file i becomes step N of chain ID.i")
	f.StringVar(&o.chainID, "chain-id", "", "alliance chain id, to build without asking the node")
	f.StringArrayVar(&o.prevs, "prev", nil, "leaf hash of step N-1's entry, to build step N > 1 without asking the node (one per file)")
	f.StringVar(&o.out, "out", "", "directory to write body.bin and body.json to")
	f.BoolVar(&o.force, "force", false, "overwrite existing sidecars and body files")
	return cmd
}

func runTxBuild(cmd *cobra.Command, g *globals, o *txBuildOpts, paths []string) error {
	if o.out == "" {
		return errors.New("--out DIR is required: where to write body.bin and body.json")
	}
	if len(paths) > 1 && !o.batch {
		return fmt.Errorf("%d files need --batch: one transaction holds one step of a chain, and step N+1 can only be built once step N is committed", len(paths))
	}
	pub, signer, err := txSigner(o.keyID, o.pub)
	if err != nil {
		return err
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return err
	}
	files, err := planSubmit(&o.submitOpts, paths, labels)
	if err != nil {
		return err
	}
	prevs, err := parsePrevs(o.prevs, o.step, len(files))
	if err != nil {
		return err
	}
	binPath, jsonPath := filepath.Join(o.out, bodyBinName), filepath.Join(o.out, bodyJSONName)
	if !o.force {
		for _, p := range []string{binPath, jsonPath} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s already exists: it may be the body of a transaction still being signed; choose another --out or pass --force", p)
			}
		}
	}
	s := &submitter{cmd: cmd, g: g, o: &o.submitOpts, chainID: o.chainID, labels: labels}
	if o.chainID == "" || (prevs == nil && o.step > 1) {
		if s.c, err = newNodeClient(o.node); err != nil {
			return err
		}
	}
	if o.chainID == "" {
		st, err := callNode(cmd, s.c, queryTimeout, nodeStatus)
		if err != nil {
			return err
		}
		s.chainID = st.ChainID
	}
	if prevs == nil {
		prevs = make([]crypto.Hash, len(files))
		if s.c != nil {
			for i, f := range files {
				if prevs[i], err = s.chainHead(f.chain, f.step); err != nil {
					return err
				}
			}
		}
	}
	for i := range files {
		if err := commitFile(&files[i]); err != nil {
			return err
		}
	}
	body, err := s.body(files, prevs)
	if err != nil {
		return err
	}
	body.Signer = signer
	bodyBytes, u, uj, err := encodeUnsigned(body, pub, files, o.out)
	if err != nil {
		return err
	}
	for i := range files {
		if err := s.writeSidecar(&files[i], u.TxID, nil); err != nil {
			s.removeSidecars(files)
			return err
		}
	}
	if err := writeBodyFiles(o.out, binPath, jsonPath, bodyBytes, uj, o.force); err != nil {
		s.removeSidecars(files)
		return err
	}
	return g.emit(cmd.OutOrStdout(), u, func(w io.Writer) error { return printBuilt(w, u, binPath, jsonPath, len(bodyBytes)) })
}

// printBuilt says what tx build wrote and how to sign it.
func printBuilt(w io.Writer, u *unsignedTx, binPath, jsonPath string, size int) error {
	return lines(w, func(ew *errWriter) {
		ew.printf("wrote %s (%d bytes): sign exactly these bytes\n", binPath, size)
		ew.printf("wrote %s: the decoded body and how to sign it\n", jsonPath)
		ew.printf("  tx id      %s\n  signer key %s\n  chain id   %s\n", u.TxID, u.Signer, u.ChainID)
		for _, r := range u.Records {
			ew.printf("  %s: chain %s step %d, commitment %s; salt saved to %s\n", r.File, r.Chain, r.Step, r.Commitment, r.Sidecar)
		}
		if u.Sign.Digest != (crypto.Hash{}) {
			ew.printf("  SM2 digest e = SM3(Z_A ‖ body.bin), for signers that take a digest: %s\n", u.Sign.Digest)
		}
		ew.printf("Sign (SM2, SM3, user id %s, DER), e.g. with OpenSSL 3:\n  %s\n", sm2UserID, u.Sign.OpenSSL)
		ew.printf("then assemble and submit:\n  %s\n", u.Sign.Attach)
		ew.printf("%s.\n", u.Sign.Deadline)
	})
}

// txSigner returns the signer named by --key-id or --pub (exactly one);
// pub is nil for --key-id.
func txSigner(keyID, pubPath string) (*crypto.PublicKey, crypto.KeyID, error) {
	switch {
	case keyID == "" && pubPath == "":
		return nil, crypto.KeyID{}, errors.New("--pub PUB.pem or --key-id HEX is required: the SM2 key that will sign")
	case keyID != "" && pubPath != "":
		return nil, crypto.KeyID{}, errors.New("give --pub or --key-id, not both: --pub determines the key id")
	case keyID != "":
		id, err := crypto.ParseKeyID(keyID)
		if err != nil {
			return nil, crypto.KeyID{}, fmt.Errorf("--key-id %q: want the 64 hex digits of SM3(public key), as `evidenced keys show` prints: %w", keyID, err)
		}
		return nil, id, nil
	}
	pub, err := readPublicKey(pubPath)
	if err != nil {
		return nil, crypto.KeyID{}, err
	}
	return pub, pub.ID(), nil
}

// readPublicKey reads an SM2 PUBLIC KEY PEM file.
func readPublicKey(path string) (*crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	pub, err := crypto.ParsePublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("--pub %s: %w (want a PUBLIC KEY PEM file, e.g. from `openssl pkey -in KEY.pem -pubout`)", path, err)
	}
	return pub, nil
}

// parsePrevs parses the --prev flags: nil when none were given, else one
// hash per file, allowed only for step > 1.
func parsePrevs(flags []string, step uint32, n int) ([]crypto.Hash, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	if step == 1 {
		return nil, errors.New("--prev is only for steps after the first: step 1 has no prev")
	}
	if len(flags) != n {
		return nil, fmt.Errorf("%d --prev values for %d files: give one per file, in order", len(flags), n)
	}
	out := make([]crypto.Hash, n)
	for i, s := range flags {
		if err := out[i].UnmarshalText([]byte(s)); err != nil || out[i] == (crypto.Hash{}) {
			return nil, fmt.Errorf("--prev %q: want the 64 hex digits of step %d's leaf hash, as `evidenced chain` prints", s, step-1)
		}
	}
	return out, nil
}

// writeBodyFiles creates dir and writes body.bin and body.json into it.
func writeBodyFiles(dir, binPath, jsonPath string, body, uj []byte, force bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create --out directory: %w", err)
	}
	write := atomicfile.WriteNew
	if force {
		write = atomicfile.WriteFile
	}
	if err := write(binPath, body, 0o644); err != nil {
		return fmt.Errorf("write body: %w", err)
	}
	if err := write(jsonPath, uj, 0o644); err != nil {
		os.Remove(binPath)
		return fmt.Errorf("write body description: %w", err)
	}
	return nil
}

type txAttachOpts struct {
	body, sig, pub, out, node string
	submit, noWait            bool
	timeout                   time.Duration
}

// attached is what tx attach prints with --output json.
type attached struct {
	TxFile      string               `json:"tx_file"`
	TxID        crypto.Hash          `json:"tx_id"`
	Size        int                  `json:"size"`
	Signer      crypto.KeyID         `json:"signer"`
	VerifiedBy  string               `json:"verified_by"` // where the public key came from
	Submissions []submission         `json:"submissions,omitempty"`
	Result      *client.SubmitResult `json:"result,omitempty"`
}

func newTxAttachCmd(g *globals) *cobra.Command {
	o := &txAttachOpts{}
	cmd := &cobra.Command{
		Use:   "attach --body DIR/body.bin --signature SIG.der --out TX.bin [--pub PUB.pem] [--submit]",
		Short: "Check an external SM2 signature of a body and assemble the signed transaction",
		Long: `Assemble the signed transaction from body.bin (written by tx build) and
the signer's DER signature of it, after checking both:

  - body.bin must be unchanged since tx build: its SM3 must be the tx id in
    body.json next to it (an edited body would carry a commitment the
    sidecars do not prove);
  - the signature must be strict DER SEQUENCE { INTEGER r, INTEGER s };
  - it must verify over the exact bytes of body.bin with the signer's
    public key: from --pub (its key id must be the one the body names),
    else from body.json, else from the node's roster (GET /v1/members).

Nothing is written unless every check passes. With --submit the
transaction is sent to --node and the command waits until it is committed,
then records where it went in the files' sidecars, as submit does.

Exit status: 0 on success, 2 when the ledger rejected the transaction, 1
for any other failure.`,
		Example: `  evidenced tx attach --body sign/body.bin --signature sign/sig.der \
      --pub hsm-key.pub.pem --out sign/tx.bin --submit --node http://bank-a:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTxAttach(cmd, g, o)
		},
	}
	f := cmd.Flags()
	nodeFlag(cmd, &o.node)
	f.StringVar(&o.body, "body", "", "the `DIR/body.bin` written by evidenced tx build (body.json must be next to it)")
	f.StringVar(&o.sig, "signature", "", "file holding the signer's DER SM2 signature of body.bin")
	f.StringVar(&o.pub, "pub", "", "PUBLIC KEY PEM file of the signer (else body.json's key, else the node's roster)")
	f.StringVar(&o.out, "out", "", "file to write the signed transaction to")
	f.BoolVar(&o.submit, "submit", false, "submit the transaction to --node and wait until it is committed")
	f.BoolVar(&o.noWait, "no-wait", false, "with --submit, return once the node accepted it into its mempool")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "with --submit, how long to wait for the transaction")
	return cmd
}

func runTxAttach(cmd *cobra.Command, g *globals, o *txAttachOpts) error {
	switch {
	case o.body == "":
		return errors.New("--body DIR/body.bin is required: the body written by `evidenced tx build`")
	case o.sig == "":
		return errors.New("--signature SIG.der is required: the DER SM2 signature of body.bin")
	case o.out == "":
		return errors.New("--out TX.bin is required: where to write the signed transaction")
	case o.noWait && !o.submit:
		return errors.New("--no-wait only applies with --submit")
	}
	bodyBytes, u, err := readBuiltBody(o.body)
	if err != nil {
		return err
	}
	body, err := ledger.DecodeBody(bodyBytes)
	if err != nil {
		return fmt.Errorf("%s is not a transaction body: %v", o.body, rejectText(err))
	}
	sig, err := os.ReadFile(o.sig)
	if err != nil {
		return fmt.Errorf("read signature: %w", err)
	}
	if err := checkSignatureForm(o.sig, sig); err != nil {
		return err
	}
	var c *client.Client
	if o.submit || (o.pub == "" && len(u.PublicKey) == 0) {
		if c, err = newNodeClient(o.node); err != nil {
			return err
		}
	}
	pub, from, err := attachKey(cmd, o.pub, u, body.Signer, c)
	if err != nil {
		return err
	}
	if err := pub.Verify(bodyBytes, sig); err != nil {
		if errors.Is(err, crypto.ErrInvalidSignature) {
			return fmt.Errorf("%s does not verify over %s with key %s (from %s): it was made over other bytes, with another user id than %s, or by another key; sign the exact bytes of body.bin (SM2 with SM3), e.g. %s",
				o.sig, o.body, body.Signer.Short(), from, sm2UserID, u.Sign.OpenSSL)
		}
		return fmt.Errorf("signature %s: %w", o.sig, err)
	}
	tx, err := ledger.EncodeTx(bodyBytes, sig)
	if err != nil {
		return fmt.Errorf("assemble transaction: %w", err)
	}
	if _, err := ledger.DecodeTx(tx); err != nil {
		return fmt.Errorf("assembled transaction does not decode: %v", rejectText(err))
	}
	if err := atomicfile.WriteFile(o.out, tx, 0o644); err != nil {
		return fmt.Errorf("write transaction: %w", err)
	}
	out := &attached{TxFile: o.out, TxID: u.TxID, Size: len(tx), Signer: body.Signer, VerifiedBy: from}
	if !o.submit {
		return g.emit(cmd.OutOrStdout(), out, func(w io.Writer) error {
			return lines(w, func(ew *errWriter) {
				ew.printf("wrote %s (%d bytes): transaction %s\n  signature verified with key %s (from %s)\n", o.out, len(tx), u.TxID, body.Signer, from)
				ew.printf("submit it with `evidenced tx attach ... --submit`, or POST it to /v1/txs\n")
			})
		})
	}
	s := &submitter{cmd: cmd, g: g, c: c, o: &submitOpts{noWait: o.noWait}}
	files := attachFiles(u)
	if g.output != "json" {
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d bytes); signature verified with key %s (from %s)\n", o.out, len(tx), body.Signer.Short(), from)
	}
	ctx, cancel := commandContext(cmd, o.timeout)
	defer cancel()
	res, err := c.Submit(ctx, tx, !o.noWait)
	if err != nil {
		return s.submitError(err, u.TxID, files)
	}
	if res.TxID != u.TxID {
		return fmt.Errorf("%w: the node reports transaction id %s for transaction %s", client.ErrBadResponse, res.TxID, u.TxID)
	}
	var firstErr error
	if len(files) == 0 && g.output != "json" && res.Status == client.StatusCommitted {
		fmt.Fprintf(cmd.OutOrStdout(), "%s transaction %s committed at entry %d in block %d\n", res.Type, u.TxID, res.Index, res.Height)
	}
	for i := range files {
		if err := markSidecar(files[i].sidecar, u.TxID, res); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("transaction %s was accepted, but %w", u.TxID, err)
		}
		s.report(&files[i], res)
	}
	out.Submissions, out.Result = s.done, res
	if g.output == "json" {
		if err := printJSON(cmd.OutOrStdout(), out); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// readBuiltBody reads body.bin and the body.json next to it and checks
// that body.bin is the body tx build described: SM3(body.bin) = tx_id.
func readBuiltBody(binPath string) ([]byte, *unsignedTx, error) {
	body, err := os.ReadFile(binPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	jsonPath := filepath.Join(filepath.Dir(binPath), bodyJSONName)
	data, err := os.ReadFile(jsonPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s is missing: tx attach needs the body.json that tx build wrote next to %s, to check the body is unchanged", jsonPath, binPath)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read body description: %w", err)
	}
	u, err := parseUnsignedTx(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", jsonPath, err)
	}
	if id := crypto.SM3(body); id != u.TxID || len(body) != u.BodySize {
		return nil, nil, fmt.Errorf("%s was changed after tx build wrote it: its SM3 is %s (%d bytes), but %s names tx id %s (%d bytes); do not sign an edited body: run tx build again",
			binPath, id, len(body), jsonPath, u.TxID, u.BodySize)
	}
	return body, u, nil
}

// checkSignatureForm checks that sig is a strict DER SM2 signature, and
// names the usual wrong forms.
func checkSignatureForm(path string, sig []byte) error {
	_, _, err := crypto.ParseSignature(sig)
	if err == nil {
		return nil
	}
	hint := "the signature must be a raw DER SEQUENCE { INTEGER r, INTEGER s }, as `openssl pkeyutl -sign` writes it"
	switch {
	case len(sig) == 64:
		hint = "it is 64 bytes, which looks like raw r‖s: encode it as DER SEQUENCE { INTEGER r, INTEGER s }"
	case bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN")):
		hint = "it is PEM: give the raw DER bytes"
	case len(sig) > 0 && isBase64ish(bytes.TrimSpace(sig)):
		hint = "it looks like base64 or hex text: decode it to the raw DER bytes"
	}
	return fmt.Errorf("signature %s: %w; %s", path, err, hint)
}

// isBase64ish reports whether b consists only of base64 or hex characters.
func isBase64ish(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r') {
			return false
		}
	}
	return len(b) > 0
}

// attachKey finds the signer's public key: --pub, else body.json's, else
// the node's roster. Each must hash to the key id the body names.
func attachKey(cmd *cobra.Command, pubPath string, u *unsignedTx, signer crypto.KeyID, c *client.Client) (*crypto.PublicKey, string, error) {
	if pubPath != "" {
		pub, err := readPublicKey(pubPath)
		if err != nil {
			return nil, "", err
		}
		if pub.ID() != signer {
			return nil, "", fmt.Errorf("--pub %s is key %s, but the body names signer %s: give the public key of the key that signed", pubPath, pub.ID(), signer)
		}
		return pub, pubPath, nil
	}
	if len(u.PublicKey) != 0 {
		pub, err := crypto.ParsePublicKey(u.PublicKey)
		if err != nil {
			return nil, "", fmt.Errorf("body.json public_key: %w", err)
		}
		if pub.ID() != signer {
			return nil, "", fmt.Errorf("body.json's public key is key %s, but the body names signer %s: run tx build again", pub.ID(), signer)
		}
		return pub, bodyJSONName, nil
	}
	members, err := callNode(cmd, c, queryTimeout, func(ctx context.Context, c *client.Client) ([]client.Member, error) {
		return c.Members(ctx)
	})
	if err != nil {
		return nil, "", fmt.Errorf("the signer's public key is needed to check the signature: pass --pub PUB.pem, or reach a node that lists it: %w", err)
	}
	for _, m := range members {
		for _, k := range m.Keys {
			if k.ID != signer {
				continue
			}
			pub, err := crypto.ParsePublicKey(k.PublicKey)
			if err != nil || pub.ID() != signer {
				return nil, "", fmt.Errorf("%w: the node lists key %s of member %s with a public key that is not that key", client.ErrBadResponse, signer.Short(), m.Name)
			}
			return pub, "member " + m.Name + " at " + c.BaseURL(), nil
		}
	}
	return nil, "", fmt.Errorf("no member at %s has key %s, so the signature cannot be checked: pass --pub PUB.pem, or register the key", c.BaseURL(), signer)
}

// attachFiles returns the files of u's records as submit knows them, for
// reporting and sidecar updates.
func attachFiles(u *unsignedTx) []evidenceFile {
	files := make([]evidenceFile, len(u.Records))
	for i, r := range u.Records {
		files[i] = evidenceFile{path: r.File, sidecar: r.Sidecar, size: r.Size, comm: r.Commitment, chain: r.Chain, step: r.Step, pos: r.Pos}
	}
	return files
}

// markSidecar records a submission result in the sidecar tx build wrote,
// if it still belongs to transaction txID.
func markSidecar(path string, txID crypto.Hash, res *client.SubmitResult) error {
	sc, err := sidecar.Load(path)
	if err != nil {
		return err
	}
	if sc.TxID != txID {
		return fmt.Errorf("sidecar %s belongs to transaction %s, not %s: it was not updated", path, sc.TxID, txID)
	}
	if res.Status != client.StatusCommitted {
		return nil
	}
	sc.MarkCommitted(res.Index, res.Height, res.Time)
	if err := sidecar.Save(path, sc); err != nil {
		return fmt.Errorf("write sidecar %s: %w", path, err)
	}
	return nil
}
