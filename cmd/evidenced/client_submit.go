package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/client"
	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/sidecar"
)

// submission is one file's outcome, as printed with --output json.
type submission struct {
	File       string               `json:"file"`
	Sidecar    string               `json:"sidecar"`
	Chain      string               `json:"chain"`
	Step       uint32               `json:"step"`
	Pos        uint16               `json:"pos"`
	Commitment crypto.Hash          `json:"commitment"`
	Size       uint64               `json:"size"`
	Result     *client.SubmitResult `json:"result"`
}

// evidenceFile is a file being submitted.
type evidenceFile struct {
	path    string
	sidecar string // path of its sidecar
	size    uint64
	salt    []byte
	comm    crypto.Hash
	chain   string
	step    uint32
	pos     uint16
	written bool // the sidecar was written by this run
}

type submitOpts struct {
	node, key, passFile string
	chain, kind         string
	step                uint32
	labels              []string
	batch, noWait       bool
	force               bool
	timeout             time.Duration
	upload              bool   // --upload: the node keeps the file (client_upload.go)
	tokenFile           string // --token-file, with --upload
}

func newSubmitCmd(g *globals) *cobra.Command {
	o := &submitOpts{}
	cmd := &cobra.Command{
		Use:   "submit --chain ID --step N --kind KIND --key FILE FILE...",
		Short: "Preserve files as steps of an evidence chain (only their salted SM3 commitments leave this machine)",
		Long: `Preserve one or more files on the alliance ledger.

For each FILE a random 32-byte salt is drawn and the commitment
SM3(salt ‖ file bytes) is computed; the file itself is never sent. The
commitment, size, kind and labels go into an evidence transaction signed
with the SM2 key in --key, and the command waits until a block holding it
is committed (--no-wait returns once the node's mempool accepted it).

The salt is needed to prove the file later, so it is written, with the
commitment and where it went on chain, to FILE.evidence.json (mode 0600)
before the transaction is sent. Keep that sidecar with the file. An existing
sidecar is never overwritten unless --force is given.

Evidence chains: --chain ID names the chain (保全号), --step N the step.
Step 1 starts a new chain; step N > 1 must follow step N-1, and its prev
link is fetched from the node.
  - Several files without --batch become consecutive steps N, N+1, ... of
    chain ID, submitted one after another, each after the previous one is
    committed.
  - With --batch, all files go in one transaction under one signature:
    file i (counting from 1) becomes step N of evidence chain "ID.i"
    (e.g. LOAN-1.1, LOAN-1.2). A batch cannot hold two steps of one chain.

With --upload the files themselves go to the node (your own member's node,
with its API token from --token-file or EVIDENCED_TOKEN; no --key): it keeps
each encrypted (SM4-GCM under a fresh key wrapped to the member key), signs
the record with its client key and returns the salt, which is written to
FILE.evidence.json as above. Files become consecutive steps; no --batch.

Labels (--label key=value, repeatable) are non-personal tags: never put a
name, ID number, phone or address in a label.

The passphrase of an encrypted key comes from --passphrase-file, else the
EVIDENCED_PASSPHRASE environment variable, else a prompt on the terminal.

Exit status: 0 when every file is preserved, 2 when the ledger rejected a
transaction (the code and a hint are printed), 1 for any other failure.`,
		Example: `  # step 1 of a loan: the signed authorisations
  evidenced submit --key bank-a.key --chain LOAN-2026-000001 --step 1 \
      --kind credit-authorisation --label product=consumer-loan auth.pdf

  # steps 2 and 3, one after the other
  evidenced submit --key bank-a.key --chain LOAN-2026-000001 --step 2 \
      --kind loan-step decision.json contract.pdf

  # 3 files in one transaction: chains DAY-0427.1, DAY-0427.2, DAY-0427.3, step 1
  evidenced submit --key bank-a.key --chain DAY-0427 --step 1 --kind repayment \
      --batch r1.json r2.json r3.json -o json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSubmit(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	nodeFlag(cmd, &o.node)
	f.StringVar(&o.key, "key", "", "SM2 private key file that signs (a bank member's key)")
	f.StringVar(&o.passFile, "passphrase-file", "", "file whose first line is the key's passphrase")
	f.StringVar(&o.chain, "chain", "", "evidence chain id (保全号), e.g. LOAN-2026-000001")
	f.Uint32Var(&o.step, "step", 0, "step number in the chain: 1 starts a new chain")
	f.StringVar(&o.kind, "kind", "", "what the evidence is, e.g. loan-contract (lowercase, digits, . _ -)")
	f.StringArrayVar(&o.labels, "label", nil, "non-personal label key=value (repeatable)")
	f.BoolVar(&o.batch, "batch", false, "submit all files in one transaction: file i becomes step N of chain ID.i")
	f.BoolVar(&o.noWait, "no-wait", false, "return once the node accepted the transaction into its mempool")
	f.BoolVar(&o.force, "force", false, "overwrite existing .evidence.json sidecars")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for each transaction")
	f.BoolVar(&o.upload, "upload", false, "send the files to the node, which keeps them encrypted and signs with its client key (needs --token-file or "+envToken+"; no --key)")
	f.StringVar(&o.tokenFile, "token-file", "", "with --upload: file whose first line is the node's API bearer token")
	return cmd
}

func runSubmit(cmd *cobra.Command, g *globals, o *submitOpts, paths []string) error {
	if o.upload {
		return runUpload(cmd, g, o, paths)
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return err
	}
	files, err := planSubmit(o, paths, labels)
	if err != nil {
		return err
	}
	if o.key == "" {
		return errors.New("--key FILE is required: the SM2 key that signs the evidence")
	}
	key, err := loadKey(cmd, o.key, o.passFile, true)
	if err != nil {
		return err
	}
	c, err := newNodeClient(o.node)
	if err != nil {
		return err
	}
	st, err := callNode(cmd, c, queryTimeout, nodeStatus)
	if err != nil {
		return err
	}
	for i := range files {
		if err := commitFile(&files[i]); err != nil {
			return err
		}
	}
	s := &submitter{cmd: cmd, g: g, o: o, c: c, key: key, chainID: st.ChainID, labels: labels}
	if o.batch {
		err = s.batch(files)
	} else {
		err = s.sequence(files)
	}
	if g.output == "json" {
		if perr := printJSON(cmd.OutOrStdout(), map[string]any{"submissions": s.done}); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// planSubmit checks the flags and files and assigns each file its chain,
// step and position, without touching the network.
func planSubmit(o *submitOpts, paths []string, labels []ledger.Label) ([]evidenceFile, error) {
	switch {
	case o.chain == "":
		return nil, errors.New("--chain ID is required: the evidence chain (保全号) the files belong to")
	case o.step == 0:
		return nil, errors.New("--step N is required: 1 starts a new chain, N > 1 continues it")
	case o.kind == "":
		return nil, errors.New("--kind KIND is required: what the evidence is, e.g. loan-contract")
	case !o.batch && o.noWait && len(paths) > 1:
		return nil, errors.New("--no-wait with several files needs --batch: each step names the committed entry of the step before it")
	case o.batch && len(paths) > ledger.MaxBatchRecords:
		return nil, fmt.Errorf("a batch holds at most %d files, got %d", ledger.MaxBatchRecords, len(paths))
	case !o.batch && uint64(o.step)+uint64(len(paths))-1 > uint64(^uint32(0)):
		return nil, fmt.Errorf("steps %d.. for %d files overflow", o.step, len(paths))
	}
	files := make([]evidenceFile, len(paths))
	seen := make(map[string]bool, len(paths))
	for i, p := range paths {
		if seen[p] {
			return nil, fmt.Errorf("%s is given twice", p)
		}
		seen[p] = true
		f := evidenceFile{path: p, sidecar: sidecar.Path(p), chain: o.chain, step: o.step + uint32(i)}
		if o.batch {
			f.chain, f.step, f.pos = o.chain+"."+strconv.Itoa(i+1), o.step, uint16(i)
		}
		// Let the ledger's own encoder check chain, kind and labels now,
		// before anything is read, signed or sent.
		probe := ledger.Record{Kind: o.kind, Chain: f.chain, Step: f.step, Commitment: crypto.Hash{1}, Labels: labels}
		if f.step > 1 {
			probe.Prev = crypto.Hash{1}
		}
		if _, err := ledger.EvidenceBody("probe", 0, probe); err != nil {
			return nil, fmt.Errorf("%s: %v", p, rejectText(err))
		}
		if _, err := os.Lstat(f.sidecar); err == nil && !o.force {
			return nil, fmt.Errorf("%s already exists: it may hold the salt of an earlier submission of %s; move it away or pass --force", f.sidecar, p)
		}
		if fi, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("evidence file: %w", err)
		} else if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", p)
		}
		files[i] = f
	}
	return files, nil
}

// rejectText returns the message of a ledger rejection without its code
// prefix.
func rejectText(err error) string {
	var re *ledger.RejectError
	if errors.As(err, &re) {
		return re.Msg
	}
	return err.Error()
}

// parseLabels parses --label key=value flags into labels sorted by key.
// Each key may appear once; the value may be empty and may contain '='.
func parseLabels(flags []string) ([]ledger.Label, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(flags))
	for _, s := range flags {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want key=value, e.g. product=consumer-loan", s)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("--label %s is given twice: each key may appear once", k)
		}
		m[k] = v
	}
	labels, err := ledger.LabelsFromMap(m)
	if err != nil {
		return nil, fmt.Errorf("--label: %w", err)
	}
	return labels, nil
}

// commitFile draws f's salt and computes its commitment and size, reading
// the file once, in constant memory.
func commitFile(f *evidenceFile) error {
	salt, err := sidecar.NewSalt(rand.Reader)
	if err != nil {
		return err
	}
	in, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("evidence file: %w", err)
	}
	defer in.Close()
	comm, size, err := sidecar.Commit(salt, in)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.path, err)
	}
	f.salt, f.comm, f.size = salt, comm, size
	return nil
}

// submitter sends the transactions of one submit command.
type submitter struct {
	cmd     *cobra.Command
	g       *globals
	o       *submitOpts
	c       *client.Client
	key     *crypto.PrivateKey
	chainID string
	labels  []ledger.Label
	done    []submission
}

// sequence submits files one by one as consecutive steps of one chain.
func (s *submitter) sequence(files []evidenceFile) error {
	prev, err := s.chainHead(files[0].chain, files[0].step)
	if err != nil {
		return err
	}
	for i := range files {
		f := &files[i]
		body, err := s.body(files[i:i+1], []crypto.Hash{prev})
		if err != nil {
			return err
		}
		res, err := s.send(body, files[i:i+1])
		if err != nil {
			if i > 0 {
				fmt.Fprintf(s.cmd.ErrOrStderr(), "%d of %d files were preserved before this failure; continue from step %d\n", i, len(files), f.step)
			}
			return err
		}
		if i+1 < len(files) {
			e, err := callNode(s.cmd, s.c, queryTimeout, func(ctx context.Context, c *client.Client) (*client.Entry, error) {
				return c.Entry(ctx, res.Index)
			})
			if err != nil {
				return fmt.Errorf("fetch the entry of step %d to link step %d: %w", f.step, f.step+1, err)
			}
			if e.TxID != res.TxID {
				return fmt.Errorf("%w: entry %d holds transaction %s, not %s", client.ErrBadResponse, res.Index, e.TxID, res.TxID)
			}
			prev = e.LeafHash
		}
	}
	return nil
}

// batch submits all files in one transaction, file i on chain ID.i.
func (s *submitter) batch(files []evidenceFile) error {
	prevs := make([]crypto.Hash, len(files))
	for i, f := range files {
		p, err := s.chainHead(f.chain, f.step)
		if err != nil {
			return err
		}
		prevs[i] = p
	}
	body, err := s.body(files, prevs)
	if err != nil {
		return err
	}
	_, err = s.send(body, files)
	return err
}

// chainHead checks that step is the next step of chain and returns the
// prev link it must carry (zero for step 1).
func (s *submitter) chainHead(chain string, step uint32) (crypto.Hash, error) {
	ch, err := callNode(s.cmd, s.c, queryTimeout, func(ctx context.Context, c *client.Client) (*client.Chain, error) {
		return c.Chain(ctx, chain, 1, 1)
	})
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Code == client.CodeNotFound {
		if step == 1 {
			return crypto.Hash{}, nil
		}
		return crypto.Hash{}, fmt.Errorf("evidence chain %s does not exist yet, so its next step is 1, not %d (use --step 1)", chain, step)
	}
	if err != nil {
		return crypto.Hash{}, err
	}
	if step == 1 {
		return crypto.Hash{}, fmt.Errorf("evidence chain %s already exists (owner %s, %d step(s)): the next step is %d (use --step %d, or choose a new chain id)",
			chain, ch.Owner, ch.Steps, ch.Steps+1, ch.Steps+1)
	}
	if ch.Steps != step-1 {
		return crypto.Hash{}, fmt.Errorf("chain %s is at step %d; the next step is %d, not %d", chain, ch.Steps, ch.Steps+1, step)
	}
	return ch.HeadLeafHash, nil
}

// body builds the transaction body for files with their prev links: an
// evidence transaction, or with --batch a batch (even of one file).
func (s *submitter) body(files []evidenceFile, prevs []crypto.Hash) (*ledger.Body, error) {
	recs := make([]ledger.Record, len(files))
	for i, f := range files {
		recs[i] = ledger.Record{Kind: s.o.kind, Chain: f.chain, Step: f.step, Prev: prevs[i],
			Commitment: f.comm, Size: f.size, Labels: s.labels}
	}
	var (
		b   *ledger.Body
		err error
	)
	if s.o.batch {
		b, err = ledger.BatchBody(s.chainID, time.Now().UnixNano(), recs)
	} else {
		b, err = ledger.EvidenceBody(s.chainID, time.Now().UnixNano(), recs[0])
	}
	if err != nil {
		return nil, fmt.Errorf("build body: %v", rejectText(err))
	}
	return b, nil
}

// send signs body, writes the pending sidecars of files, submits, and on
// success records the result in the sidecars and prints it.
func (s *submitter) send(body *ledger.Body, files []evidenceFile) (*client.SubmitResult, error) {
	tx, err := ledger.SignTx(s.key, rand.Reader, body)
	if err != nil {
		return nil, fmt.Errorf("sign: %v", rejectText(err))
	}
	decoded, err := ledger.DecodeTx(tx)
	if err != nil {
		return nil, fmt.Errorf("signed transaction does not decode: %w", err)
	}
	txID := decoded.ID()
	for i := range files {
		if err := s.writeSidecar(&files[i], txID, nil); err != nil {
			s.removeSidecars(files)
			return nil, err
		}
	}
	ctx, cancel := commandContext(s.cmd, s.o.timeout)
	defer cancel()
	res, err := s.c.Submit(ctx, tx, !s.o.noWait)
	if err != nil {
		return nil, s.submitError(err, txID, files)
	}
	if res.TxID != txID {
		return nil, fmt.Errorf("%w: the node reports transaction id %s for transaction %s", client.ErrBadResponse, res.TxID, txID)
	}
	for i := range files {
		if err := s.writeSidecar(&files[i], txID, res); err != nil {
			return nil, fmt.Errorf("transaction %s was accepted, but %w; the sidecar still has the salt", txID, err)
		}
		s.report(&files[i], res)
	}
	return res, nil
}

// submitError explains a failed submission, removes the sidecars when the
// transaction certainly did not go in, and picks the exit status.
func (s *submitter) submitError(err error, txID crypto.Hash, files []evidenceFile) error {
	w := s.cmd.ErrOrStderr()
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.IsRejection():
			s.removeSidecars(files)
			fmt.Fprintf(w, "rejected: %s (%d): %s\n", apiErr.Code, apiErr.ResultCode, apiErr.Message)
			if apiErr.Hint != "" {
				fmt.Fprintf(w, "  hint: %s\n", apiErr.Hint)
			}
			return &exitError{code: 2, err: err}
		case apiErr.Code == client.CodeTimeout:
			return fmt.Errorf("transaction %s was not committed in time and may still commit: check with `evidenced get %s`; %s keeps its salt: %w",
				txID, txID, files[0].sidecar, err)
		case apiErr.Status >= 400 && apiErr.Status < 500, apiErr.Status == 503:
			s.removeSidecars(files)
			return nodeError(s.c, err)
		}
	}
	return fmt.Errorf("submitting transaction %s failed and it may or may not have reached the node: check with `evidenced get %s`; %s keeps its salt (pass --force to resubmit): %w",
		txID, txID, files[0].sidecar, nodeError(s.c, err))
}

// writeSidecar writes f's sidecar: pending (res nil) or with the result.
// The first write refuses an existing file unless --force.
func (s *submitter) writeSidecar(f *evidenceFile, txID crypto.Hash, res *client.SubmitResult) error {
	sc := &sidecar.File{Version: sidecar.Version, Name: filepath.Base(f.path), Size: f.size, Salt: f.salt, Commitment: f.comm,
		Chain: f.chain, Step: f.step, Pos: f.pos, Kind: s.o.kind, Labels: ledger.LabelMap(s.labels),
		Status: sidecar.StatusPending, TxID: txID, ChainID: s.chainID}
	if res != nil && res.Status == client.StatusCommitted {
		sc.MarkCommitted(res.Index, res.Height, res.Time)
	}
	save := sidecar.SaveNew
	if f.written || s.o.force {
		save = sidecar.Save
	}
	if err := save(f.sidecar, sc); err != nil {
		return fmt.Errorf("write sidecar %s: %w", f.sidecar, err)
	}
	f.written = true
	return nil
}

// removeSidecars deletes the sidecars this run wrote, for a transaction
// that certainly did not go in.
func (s *submitter) removeSidecars(files []evidenceFile) {
	for i := range files {
		if files[i].written {
			if err := os.Remove(files[i].sidecar); err == nil {
				files[i].written = false
			}
		}
	}
}

// report prints one file's outcome (text) or keeps it for JSON.
func (s *submitter) report(f *evidenceFile, res *client.SubmitResult) {
	s.done = append(s.done, submission{File: f.path, Sidecar: f.sidecar, Chain: f.chain, Step: f.step, Pos: f.pos,
		Commitment: f.comm, Size: f.size, Result: res})
	if s.g.output == "json" {
		return
	}
	w := s.cmd.OutOrStdout()
	if res.Status == client.StatusCommitted {
		fmt.Fprintf(w, "%s: chain %s step %d: entry %d, height %d, block time %s\n  tx %s\n",
			f.path, f.chain, f.step, res.Index, res.Height, formatTime(res.Time), res.TxID)
	} else {
		fmt.Fprintf(w, "%s: chain %s step %d: accepted into the mempool, not yet committed\n  tx %s (check with `evidenced get %s`)\n",
			f.path, f.chain, f.step, res.TxID, res.TxID)
	}
	fmt.Fprintf(w, "  salt and commitment saved to %s: keep it with the file, it is needed to prove the file later\n", f.sidecar)
}

// jsonIndent returns v as indented JSON with a final newline.
func jsonIndent(v any) ([]byte, error) {
	var b strings.Builder
	if err := printJSON(&b, v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return []byte(b.String()), nil
}
