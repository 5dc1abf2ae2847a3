package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/config"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
	"github.com/evidenced/evidenced/testnet"
)

// addNodeCommands registers init, testnet, start and join.
func addNodeCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newInitCmd(g), newTestnetCmd(g), newStartCmd(g), newJoinCmd(g))
}

func newInitCmd(g *globals) *cobra.Command {
	var (
		home, moniker, member, roleName, chainID, passFile string
		noPass                                             bool
		p2pPort, rpcPort, apiPort                          int
	)
	cmd := &cobra.Command{
		Use:   "init [--home DIR] --moniker NAME --role ROLE",
		Short: "Create a node home: keys, config and a single-member genesis",
		Long: `init creates a node home directory:

  config/config.toml         CometBFT's settings (ports, peers, timeouts)
  config/evidenced.toml      evidenced's settings (API address, keys, logging)
  config/genesis.json        a genesis whose roster holds only this member
  keys/member.pem            the member's SM2 key (PKCS#8, 0600; encrypted
                             with a passphrase unless --no-passphrase)

CometBFT's node key (its p2p identity) and validator key are derived from
the member key, so the member key is the one secret on disk. The alliance
is closed: a node admits as CometBFT peers only the nodes the roster
names (app_state members[].node_id), so the node id printed here must be
in the alliance's genesis.

The single-member genesis makes a working one-node alliance at once; to
join a running alliance use 'evidenced join', which makes the home from
the alliance's genesis, with its members' nodes as peers and state sync.
For a local multi-member alliance use 'evidenced testnet' instead.

Without --home the home is $EVIDENCED_HOME, else ~/.evidenced.`,
		Example: `  evidenced init --home ./bank --moniker bank-sh --role bank --passphrase-file ./pass.txt
  evidenced init --home ./court --moniker court --role court --no-passphrase --api-port 8081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := newHome(home)
			if err != nil {
				return err
			}
			role, err := ledger.ParseRole(roleName)
			if err != nil {
				return err
			}
			if role == ledger.RoleRegulator {
				return errors.New("a regulator has no voting power, so it cannot run a one-member alliance: join an alliance made with 'evidenced testnet' instead")
			}
			if member == "" {
				member = moniker
			}
			pass, err := newKeyPassphrase(cmd, passFile, noPass)
			if err != nil {
				return err
			}
			h, err := node.InitHome(node.HomeSpec{Home: home, Moniker: moniker, Member: member, Role: role, ChainID: chainID,
				Host: "127.0.0.1", P2PPort: p2pPort, RPCPort: rpcPort, APIPort: apiPort, Passphrase: pass})
			if err != nil {
				return err
			}
			if _, err := node.WriteGenesis(chainID, time.Now(), []node.GenesisMember{{Home: h, Power: 10}}); err != nil {
				return err
			}
			out := map[string]any{"home": home, "chain_id": chainID, "member": member, "role": role.String(),
				"node_id": h.NodeID, "validator_address": h.ValidatorAddr, "member_key_id": h.MemberKey.ID().String(),
				"member_key_file": h.MemberKeyFile, "encrypted": pass != nil,
				"api": fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
			return g.emit(cmd.OutOrStdout(), out, func(w io.Writer) error {
				return lines(w, func(ew *errWriter) {
					ew.printf("Created node home %s for member %s (%s) of chain %s.\n", home, member, role, chainID)
					ew.printf("  node id        %s\n  member key     %s (%s)\n", h.NodeID, h.MemberKey.ID().Short(), h.MemberKeyFile)
					if pass == nil {
						ew.printf("  warning: the member key is NOT encrypted (--no-passphrase); use this home for tests only\n")
					}
					ew.printf("Start it with: evidenced start --home %s\n", home)
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&home, "home", "", "directory to create"+homeUsage)
	f.StringVar(&moniker, "moniker", "", "human-readable node name (required)")
	f.StringVar(&member, "member", "", "member name in the roster (default: the moniker)")
	f.StringVar(&roleName, "role", "bank", "member role: bank, notary, arbitration, court")
	f.StringVar(&chainID, "chain-id", "evidenced-dev", "chain id of the new single-member genesis")
	f.StringVar(&passFile, "passphrase-file", "", "file holding the passphrase that encrypts the member key")
	f.BoolVar(&noPass, "no-passphrase", false, "write the member key unencrypted (tests only)")
	f.IntVar(&p2pPort, "p2p-port", 26656, "CometBFT p2p port on 127.0.0.1")
	f.IntVar(&rpcPort, "rpc-port", 26657, "CometBFT RPC port on 127.0.0.1")
	f.IntVar(&apiPort, "api-port", 8080, "evidenced HTTP API port on 127.0.0.1")
	_ = cmd.MarkFlagRequired("moniker")
	return cmd
}

func newTestnetCmd(g *globals) *cobra.Command {
	var (
		out, chainID, members string
		tsaKind               string
		basePort, apiBasePort int
		timeoutCommit         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "testnet --members bank,notary,court,arbitration --out DIR",
		Short: "Create a local alliance: one node home per member on 127.0.0.1",
		Long: `testnet creates a ready local alliance under --out:

  DIR/<member>/          a node home per member (see 'evidenced init')
  DIR/client/<bank>-client.pem   a bank client key, registered in the roster
  DIR/client/<member>-api-token  the member's API token: scopes originals, grant,
                         webhooks, govern, and submit for the bank with the client key
                         (its node keeps only the digest; 'evidenced tokens')
  DIR/tsa/               a development RFC 3161 TSA (--tsa sm2, the default, or
                         ecdsa; --tsa none for none): its key, certificates and
                         the anchor tsa-ca.pem (openssl ts -verify -CAfile)
  DIR/alliance.json      the manifest: members, ports, API URLs, client key, TSA

All homes share one genesis: the roster (names, roles, SM2 keys, voting
power, node ids) and CometBFT's validator set. Each home has every other
member's node as a persistent peer and admits no node outside the roster.
Each member is a validator with power 10, except a regulator, which runs a
full node without a vote.

Every port is on 127.0.0.1; with B the --base-port (default 26600), member i
(0 for the first) listens on:

  B+10*i     CometBFT P2P (the peers' consensus connections)
  B+10*i+1   CometBFT RPC
  B+10*i+2   the HTTP API (--node URL of client commands), or --api-port+i
  B+10*i+3   the libp2p blob exchange (encrypted originals between members)
  B+9        the development TSA, served by the first member's node only
             (none with --tsa none)

So the default four members' APIs are 127.0.0.1:26602, :26612, :26622 and
:26632. The first member's node requests time-stamp tokens from the
development TSA over the trusted checkpoints ([timestamp] in its
evidenced.toml); a production alliance points at its real TSAs.
Keys are written unencrypted: a testnet is for development and tests.

Start each member with 'evidenced start --home DIR/<member>', or all of them
with 'make testnet'.`,
		Example: `  evidenced testnet --members bank,notary,court,arbitration --out ./testnet-out
  evidenced testnet --members bank-a:bank,bank-b:bank,notary,court,regulator --out ./five --base-port 27000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required: the directory to create")
			}
			a, err := testnet.Generate(testnet.Options{Out: out, ChainID: chainID, Members: strings.Split(members, ","),
				BasePort: basePort, APIBasePort: apiBasePort, TimeoutCommit: timeoutCommit, TSA: tsaKind})
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), a, func(w io.Writer) error {
				if err := lines(w, func(ew *errWriter) {
					ew.printf("Created alliance %s with %d members in %s.\n\n", a.ChainID, len(a.Members), a.Dir)
				}); err != nil {
					return err
				}
				if err := table(w, func(ew *errWriter) {
					ew.printf("MEMBER\tROLE\tVOTE\tAPI\tRPC\tHOME\n")
					for _, m := range a.Members {
						ew.printf("%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Role, yesNo(m.Validator), m.API, m.RPC, m.Home)
					}
				}); err != nil {
					return err
				}
				return lines(w, func(ew *errWriter) {
					if a.ClientKey != "" {
						ew.printf("\nBank client key (registered to %s): %s\n", a.ClientMember, a.ClientKey)
					}
					if t := a.TSA; t != nil {
						ew.printf("Development TSA (%s, %s): served by %s's node on %s; anchor %s\n", t.Name, t.Kind, t.Member, t.URL, t.CertFile)
					}
					ew.printf("Start a member with: evidenced start --home %s\n", filepath.Join(a.Dir, a.Members[0].Name))
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory to create (required)")
	f.StringVar(&chainID, "chain-id", "evidenced-local", "chain id")
	f.StringVar(&members, "members", "bank,notary,court,arbitration", "comma-separated members: role, or name:role")
	f.IntVar(&basePort, "base-port", 26600, "first port; member i uses base+10*i .. base+10*i+3, the development TSA base+9")
	f.IntVar(&apiBasePort, "api-port", 0, "if set, member i's API listens on api-port+i")
	f.DurationVar(&timeoutCommit, "timeout-commit", 500*time.Millisecond, "CometBFT timeout_commit (block interval)")
	f.StringVar(&tsaKind, "tsa", "sm2", "development TSA the first member's node serves on base-port+9 and stamps with: sm2, ecdsa or none")
	return cmd
}

func newStartCmd(g *globals) *cobra.Command {
	var home, level, format, profile string
	cmd := &cobra.Command{
		Use:   "start [--home DIR]",
		Short: "Run a node (CometBFT embedded in this process, plus the HTTP API)",
		Long: `start runs the node of the home directory until it receives SIGINT or
SIGTERM, then shuts down cleanly: the HTTP API stops taking requests,
CometBFT stops, and the store is closed. A crash loses nothing committed:
on restart CometBFT replays any block the app had not committed.

The node refuses to start on a home whose genesis, config or store belong
to another chain, or whose store was written by an incompatible version.
No separate cometbft binary is needed. Without --home the home is
$EVIDENCED_HOME, else ~/.evidenced.`,
		Example: `  evidenced start --home ./testnet-out/bank
  evidenced start --home ./bank --log-level debug --log-format json
  evidenced start --home ./bank --profile ./prof   # cpu.pprof and allocs.pprof at stop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := nodeHome(home)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg, err := unlessSignalled(ctx, "reading "+config.File(home), func() (*config.Config, error) { return config.Load(home) })
			if err != nil {
				return err
			}
			if level == "" {
				level = cfg.Log.Level
			}
			if format == "" {
				format = cfg.Log.Format
			}
			lvl, err := config.ParseLevel(level)
			if err != nil {
				return err
			}
			hopts := &slog.HandlerOptions{Level: lvl}
			var h slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), hopts)
			if format == "json" || g.output == "json" {
				h = slog.NewJSONHandler(cmd.ErrOrStderr(), hopts)
			}
			logger := slog.New(h)
			if profile != "" {
				stop, err := startProfile(profile)
				if err != nil {
					return err
				}
				defer func() {
					if err := stop(); err != nil {
						logger.Error("write profiles", "err", err)
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "profiles written to %s (go tool pprof %s)\n", profile, filepath.Join(profile, "cpu.pprof"))
					}
				}()
			}
			n, err := unlessSignalled(ctx, "loading the home "+home, func() (*node.Node, error) { return node.New(home, logger) })
			if err != nil {
				return err
			}
			if _, err := unlessSignalled(ctx, "starting the node", func() (struct{}, error) { return struct{}{}, n.Start() }); err != nil {
				if ctx.Err() == nil {
					_ = n.Stop(context.Background())
				}
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "evidenced node %s of chain %s is running: explorer %s/explorer/, API %s/v1/ — stop it with Ctrl-C\n", cfg.Moniker, n.ChainID(), n.APIURL(), n.APIURL())
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping…")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			return n.Stop(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&home, "home", "", "node home directory"+homeUsage)
	f.StringVar(&level, "log-level", "", "debug, info, warn or error (default: from evidenced.toml)")
	f.StringVar(&format, "log-format", "", "text or json (default: from evidenced.toml)")
	f.StringVar(&profile, "profile", "", "write a CPU profile of the whole run and an allocation profile at stop into this directory")
	return cmd
}

// unlessSignalled returns what step returns, or an error as soon as ctx
// ends first (SIGINT or SIGTERM). Reading a home can block (a FIFO where a
// file should be, a hung network file system) and replaying blocks at
// start can take long; a signal must still end the process at once. A
// step left running ends with the process: nothing committed is lost, as
// after a crash.
func unlessSignalled[T any](ctx context.Context, what string, step func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := step()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("stopped while %s: %w", what, context.Cause(ctx))
	}
}

// startProfile starts CPU profiling into dir/cpu.pprof; the returned func
// stops it and writes dir/allocs.pprof.
func startProfile(dir string) (func() error, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("profile dir: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return err
		}
		a, err := os.Create(filepath.Join(dir, "allocs.pprof"))
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(a, 0); err != nil {
			a.Close()
			return err
		}
		return a.Close()
	}, nil
}
