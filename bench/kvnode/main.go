// Command kvnode is the baseline of the benchmark (issue 5): CometBFT's own
// abci/example/kvstore application, from the same CometBFT module version
// as evidenced (v0.40.0), embedded in-process exactly as node.New embeds
// the evidenced app (cmtnode.NewNode with proxy.NewConnSyncLocalClientCreator),
// reading a standard CometBFT home.
//
//	kvnode init --out DIR [--validators 4] [--base-port P] [--timeout-commit 500ms] [--chain-id ID]
//	kvnode start --home DIR/nodeI
//
// init writes one home per validator with the consensus, mempool and p2p
// settings of node.InitHome (CometBFT defaults; loopback address book
// relaxed; null tx indexer; the same timeout_commit) and a shared genesis
// (power 10 each, vote extensions enabled from height 1, as evidenced's
// testnet does), then prints a JSON manifest (Net) on stdout. Validator i
// listens on base-port+10*i (p2p) and +1 (RPC), as `evidenced testnet`.
// start runs one node until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/evidenced/evidenced/node"
)

// Member is one validator of a generated baseline network.
type Member struct {
	Name string `json:"name"`
	Home string `json:"home"`
	P2P  string `json:"p2p"`
	RPC  string `json:"rpc"`
}

// Net is the manifest init prints.
type Net struct {
	ChainID string   `json:"chain_id"`
	Dir     string   `json:"dir"`
	Members []Member `json:"members"`
}

// InitOptions describe a baseline network to create.
type InitOptions struct {
	Out           string
	Validators    int
	BasePort      int
	TimeoutCommit time.Duration
	ChainID       string
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kvnode:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: kvnode init --out DIR | kvnode start --home DIR")
	}
	switch args[0] {
	case "init":
		fs := flag.NewFlagSet("init", flag.ContinueOnError)
		var o InitOptions
		fs.StringVar(&o.Out, "out", "", "directory to create (required)")
		fs.IntVar(&o.Validators, "validators", 4, "number of validators")
		fs.IntVar(&o.BasePort, "base-port", 27600, "validator i uses base+10*i (p2p) and +1 (RPC)")
		fs.DurationVar(&o.TimeoutCommit, "timeout-commit", 500*time.Millisecond, "CometBFT timeout_commit (as evidenced testnet)")
		fs.StringVar(&o.ChainID, "chain-id", "kvstore-bench", "chain id")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		n, err := Init(o)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(n)
	case "start":
		fs := flag.NewFlagSet("start", flag.ContinueOnError)
		home := fs.String("home", "", "node home (required)")
		level := fs.String("log-level", "warn", "debug, info, warn or error")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *home == "" {
			return errors.New("--home is required")
		}
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(*level)); err != nil {
			return fmt.Errorf("--log-level %q: %w", *level, err)
		}
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return Start(ctx, *home, logger)
	default:
		return fmt.Errorf("unknown command %q: use init or start", args[0])
	}
}

// Init creates the homes and the shared genesis.
func Init(o InitOptions) (*Net, error) {
	if o.Out == "" {
		return nil, errors.New("--out is required: the directory to create")
	}
	if o.Validators < 1 {
		return nil, fmt.Errorf("--validators %d: need at least one", o.Validators)
	}
	abs, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	n := &Net{ChainID: o.ChainID, Dir: abs}
	doc := &cmttypes.GenesisDoc{GenesisTime: time.Now().UTC(), ChainID: o.ChainID, InitialHeight: 1, ConsensusParams: node.ConsensusParams()}
	var cfgs []*cmtcfg.Config
	var addrs []string
	for i := range o.Validators {
		name := fmt.Sprintf("node%d", i)
		home := filepath.Join(abs, name)
		if _, err := os.Stat(filepath.Join(home, "config", "config.toml")); err == nil {
			return nil, fmt.Errorf("%s already holds a home: remove it or choose another --out", home)
		}
		for _, d := range []string{"config", "data"} {
			if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
				return nil, fmt.Errorf("create home: %w", err)
			}
		}
		port := o.BasePort + 10*i
		// The same settings as evidenced's generated homes.
		cc := node.CometConfig(home, name, "127.0.0.1", port, port+1, o.TimeoutCommit)
		nk, err := p2p.LoadOrGenNodeKey(cc.NodeKeyFile())
		if err != nil {
			return nil, fmt.Errorf("node key: %w", err)
		}
		pv := privval.LoadOrGenFilePV(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
		pub, err := pv.GetPubKey()
		if err != nil {
			return nil, fmt.Errorf("validator key: %w", err)
		}
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: 10, Name: name})
		cfgs = append(cfgs, cc)
		addrs = append(addrs, fmt.Sprintf("%s@127.0.0.1:%d", nk.ID(), port))
		n.Members = append(n.Members, Member{Name: name, Home: home,
			P2P: fmt.Sprintf("127.0.0.1:%d", port), RPC: fmt.Sprintf("http://127.0.0.1:%d", port+1)})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	for i, cc := range cfgs {
		if err := doc.SaveAs(cc.GenesisFile()); err != nil {
			return nil, fmt.Errorf("write genesis: %w", err)
		}
		var peers []string
		for j, a := range addrs {
			if i != j {
				peers = append(peers, a)
			}
		}
		cc.P2P.PersistentPeers = strings.Join(peers, ",")
		cmtcfg.WriteConfigFile(filepath.Join(n.Members[i].Home, "config", "config.toml"), cc)
	}
	return n, nil
}

// Start runs the kvstore node of home until ctx is done.
func Start(ctx context.Context, home string, logger *slog.Logger) error {
	cc, err := node.LoadCometConfig(home)
	if err != nil {
		return err
	}
	gen, err := cmttypes.GenesisDocFromFile(cc.GenesisFile())
	if err != nil {
		return fmt.Errorf("load genesis: %w", err)
	}
	nk, err := p2p.LoadNodeKey(cc.NodeKeyFile())
	if err != nil {
		return fmt.Errorf("load node key: %w", err)
	}
	pv := privval.LoadFilePV(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	// The kvstore's own goleveldb, under the home's data dir (CometBFT's stores use the default backend).
	app := kvstore.NewPersistentApplication(filepath.Join(home, "data"))
	defer app.Close()
	n, err := cmtnode.NewNode(cc, pv, nk,
		proxy.NewConnSyncLocalClientCreator(app),
		func() (*cmttypes.GenesisDoc, error) { return gen, nil },
		cmtcfg.DefaultDBProvider,
		cmtnode.DefaultMetricsProvider(cc.Instrumentation),
		node.NewCometLogger(logger),
	)
	if err != nil {
		return fmt.Errorf("create CometBFT node: %w", err)
	}
	if err := n.Start(); err != nil {
		return fmt.Errorf("start CometBFT: %w", err)
	}
	logger.Info("kvstore node running", "rpc", cc.RPC.ListenAddress)
	<-ctx.Done()
	if err := n.Stop(); err != nil {
		return fmt.Errorf("stop CometBFT: %w", err)
	}
	n.Wait()
	return nil
}
