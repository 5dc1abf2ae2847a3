package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/evidenced/evidenced/crypto"
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/node"
)

// maxGenesisBytes bounds a genesis file read by join.
const maxGenesisBytes = 64 << 20

func newJoinCmd(g *globals) *cobra.Command {
	var (
		home, genesisFile, allianceFile, member, moniker, roleName, keyFile, passFile string
		peers, rpcs                                                                   []string
		noPass, noStateSync                                                           bool
		host                                                                          string
		p2pPort, rpcPort, apiPort, blobPort                                           int
		trustHeight                                                                   int64
		trustPeriod, timeoutCommit                                                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "join [--home DIR] --genesis FILE --member NAME --alliance FILE",
		Short: "Make the home of a member's node that joins a running alliance (state sync)",
		Long: `join makes the home (--home, default $EVIDENCED_HOME, else ~/.evidenced)
of a member's node that joins a running alliance,
from the alliance's published genesis.json and its list of member nodes
(--alliance: a JSON file of members with name, node_id, p2p host:port and
rpc URL; the alliance.json of 'evidenced testnet' is one):

  config/genesis.json     the alliance's genesis, exactly as published
  config/config.toml      the other members' nodes as persistent peers, and
                          CometBFT state sync from a block the members agree on
  config/evidenced.toml   and keys/member.pem, as 'evidenced init' writes them

The member's key: for a member of the genesis roster, give its key with
--member-key (its CometBFT node id and validator key are derived from it,
and all three are checked against the roster). For a member the roster
does not hold yet, join draws a new key; the other members admit its node
once a governance change puts its node id (printed here) in the roster.

State sync: join asks the members' CometBFT RPC servers (--rpc, or the
directory's) for their latest block, checks that they serve the same block
of the genesis's chain, and, while the genesis validators still sign,
that more than 2/3 of their power signed it. The node's light client
trusts that block and verifies from it the app hash of the snapshot the
node restores; each snapshot chunk and the restored state are checked
against it. The node then follows consensus from the snapshot's height,
without the blocks before it.

Block sync instead: with --no-state-sync, or when fewer than two RPC
servers answer, the node replays every block from genesis. When the
servers disagree, join stops: find out why before joining.`,
		Example: `  evidenced join --home ./court --genesis genesis.json --alliance alliance.json \
      --member court --member-key court-member.pem --passphrase-file pass.txt
  evidenced join --home ./bank-b --genesis genesis.json --member bank-b --role bank \
      --peers ID@10.0.0.1:26656,ID@10.0.0.2:26656 --rpc http://10.0.0.1:26657,http://10.0.0.2:26657 --no-passphrase`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if genesisFile == "" || member == "" {
				return errors.New("--genesis and --member are required: the alliance's genesis.json and the member's name in the roster")
			}
			home, err := newHome(home)
			if err != nil {
				return err
			}
			if moniker == "" {
				moniker = member
			}
			gen, err := readBounded(genesisFile, maxGenesisBytes)
			if err != nil {
				return fmt.Errorf("--genesis: %w", err)
			}
			doc, err := cmttypes.GenesisDocFromJSON(gen)
			if err != nil {
				return fmt.Errorf("--genesis %s: %w", genesisFile, err)
			}
			if allianceFile != "" {
				b, err := readBounded(allianceFile, 4<<20)
				if err != nil {
					return fmt.Errorf("--alliance: %w", err)
				}
				d, err := node.ParseDirectory(b)
				if err != nil {
					return fmt.Errorf("--alliance %s: %w", allianceFile, err)
				}
				if d.ChainID != "" && d.ChainID != doc.ChainID {
					return fmt.Errorf("--alliance %s lists the nodes of chain %s, the genesis is of chain %s", allianceFile, d.ChainID, doc.ChainID)
				}
				if len(peers) == 0 {
					peers = d.Peers(member)
				}
				if len(rpcs) == 0 {
					rpcs = d.RPCServers(member)
				}
			}
			if len(peers) == 0 {
				return errors.New("no peers: give the alliance's list of member nodes with --alliance FILE, or the other members' nodes with --peers ID@HOST:PORT,…")
			}
			role := ledger.RoleBank
			if roleName != "" {
				if role, err = ledger.ParseRole(roleName); err != nil {
					return err
				}
			}
			var mk *crypto.PrivateKey
			if keyFile != "" {
				if mk, err = loadKey(cmd, keyFile, passFile, true); err != nil {
					return fmt.Errorf("--member-key: %w", err)
				}
			} else {
				gs, err := ledger.ParseGenesisState(doc.AppState)
				if err != nil {
					return fmt.Errorf("--genesis %s: %w", genesisFile, err)
				}
				if slices.ContainsFunc(gs.Members, func(m ledger.GenesisMember) bool { return m.Name == member }) {
					return fmt.Errorf("the genesis roster holds member %s: give its member key with --member-key FILE (a new key would not be the roster's)", member)
				}
				if mk, err = crypto.GenerateKey(rand.Reader); err != nil {
					return err
				}
			}
			if trustPeriod <= 0 {
				return errors.New("--trust-period must be positive, e.g. 168h")
			}
			pass, err := newKeyPassphrase(cmd, passFile, noPass)
			if err != nil {
				return err
			}
			nodeID, err := node.NodeID(mk)
			if err != nil {
				return err
			}
			var trust *node.Trust
			why := "--no-state-sync"
			switch {
			case noStateSync:
			case len(rpcs) == 0:
				why = "no member's RPC server is known (give --rpc URL,URL or --alliance FILE)"
			default:
				ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
				t, err := node.FetchTrust(ctx, doc, rpcs, trustHeight, nodeID)
				cancel()
				switch {
				case err == nil:
					t.Period, trust = trustPeriod, t
				case errors.Is(err, node.ErrTrustUnavailable):
					why = err.Error()
				default:
					return fmt.Errorf("%w; nothing was written. Do not join until the alliance knows why; to replay every block from genesis instead, pass --no-state-sync", err)
				}
			}
			spec := node.JoinSpec{Home: home, Moniker: moniker, Member: member, Role: role, Genesis: gen, MemberKey: mk, Passphrase: pass,
				Host: host, P2PPort: p2pPort, RPCPort: rpcPort, APIPort: apiPort, BlobPort: blobPort, TimeoutCommit: timeoutCommit,
				Peers: peers, Trust: trust}
			info, err := node.JoinHome(spec)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), joinReport(info, trust, why, pass != nil), func(w io.Writer) error {
				return printJoin(w, info, trust, why, pass != nil)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&home, "home", "", "directory to create"+homeUsage)
	f.StringVar(&genesisFile, "genesis", "", "the alliance's published genesis.json (required)")
	f.StringVar(&allianceFile, "alliance", "", "the alliance's list of member nodes (JSON: members with name, node_id, p2p, rpc), for --peers and --rpc")
	f.StringVar(&member, "member", "", "the member's name in the roster (required)")
	f.StringVar(&moniker, "moniker", "", "human-readable node name (default: the member)")
	f.StringVar(&roleName, "role", "", "the member's role when the genesis roster does not hold it (default bank)")
	f.StringVar(&keyFile, "member-key", "", "the member's SM2 key, for a member of the genesis roster (default: a new key)")
	f.StringVar(&passFile, "passphrase-file", "", "file holding the passphrase of --member-key and of the home's key")
	f.BoolVar(&noPass, "no-passphrase", false, "write the member key unencrypted (tests only)")
	f.StringSliceVar(&peers, "peers", nil, "the other members' nodes, ID@HOST:PORT,… (default: from --alliance)")
	f.StringSliceVar(&rpcs, "rpc", nil, "members' CometBFT RPC servers, URL,… (at least two; default: from --alliance)")
	f.BoolVar(&noStateSync, "no-state-sync", false, "replay every block from genesis instead of restoring a snapshot")
	f.Int64Var(&trustHeight, "trust-height", 0, "the height of the block to trust (default: the latest the RPC servers all have)")
	f.DurationVar(&trustPeriod, "trust-period", node.DefaultTrustPeriod, "how long the trusted block stays trusted: start the node within it")
	f.StringVar(&host, "host", "127.0.0.1", "the address the node listens on and advertises")
	f.IntVar(&p2pPort, "p2p-port", 26656, "CometBFT p2p port")
	f.IntVar(&rpcPort, "rpc-port", 26657, "CometBFT RPC port")
	f.IntVar(&apiPort, "api-port", 8080, "evidenced HTTP API port")
	f.IntVar(&blobPort, "blob-port", 0, "libp2p port of the exchange of originals (default: the roster's address of the member's peer, or none)")
	f.DurationVar(&timeoutCommit, "timeout-commit", 0, "CometBFT timeout_commit (default: CometBFT's); use the alliance's")
	return cmd
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// joinReport is the JSON output of join.
func joinReport(info *node.JoinInfo, t *node.Trust, why string, encrypted bool) map[string]any {
	out := map[string]any{"home": info.Spec.Home, "chain_id": info.Genesis.ChainID, "member": info.Spec.Member, "role": info.Spec.Role.String(),
		"in_genesis_roster": info.InRoster, "power": info.Power, "seat_file": info.SeatFile, "seat": info.Seat, "node_id": info.NodeID, "validator_key": fmt.Sprintf("%x", info.ValidatorKey),
		"member_key": fmt.Sprintf("%x", info.MemberKey.Bytes()), "member_key_id": info.MemberKey.ID().String(), "encrypted": encrypted,
		"peers": strings.Split(info.CometConfig.P2P.PersistentPeers, ","), "state_sync": t != nil}
	if t != nil {
		answers := make([]map[string]any, len(t.Answers))
		for i, a := range t.Answers {
			answers[i] = map[string]any{"server": a.Server, "latest_height": a.Latest, "hash": a.Hash, "admits_node": a.Admits}
			if a.Err != nil {
				answers[i]["error"] = a.Err.Error()
			}
		}
		out["trust"] = map[string]any{"height": t.Height, "hash": t.Hash, "period": t.Period.String(), "rpc_servers": t.RPCServers,
			"genesis_power": t.GenesisPower, "signed_power": t.SignedPower, "answers": answers}
	} else {
		out["block_sync_because"] = why
	}
	return out
}

// printJoin prints what join made, what it trusts and why.
func printJoin(w io.Writer, info *node.JoinInfo, t *node.Trust, why string, encrypted bool) error {
	return lines(w, func(ew *errWriter) {
		s := info.Spec
		ew.printf("Made node home %s for member %s (%s) of chain %s.\n", s.Home, s.Member, s.Role, info.Genesis.ChainID)
		ew.printf("  node id        %s\n  member key     %s (%s)\n", info.NodeID, info.MemberKey.ID().Short(), info.MemberKeyFile)
		if !encrypted {
			ew.printf("  warning: the member key is NOT encrypted (--no-passphrase); use this home for tests only\n")
		}
		if info.InRoster {
			ew.printf("  roster         the genesis roster holds %s (voting power %d); its key, node id and validator key match\n", s.Member, info.Power)
		} else {
			ew.printf("  roster         the genesis roster does not hold %s: the members admit this node once a governance change adds\n", s.Member)
			ew.printf("                 member key %x\n                 node id %s, validator key %x\n", info.MemberKey.Bytes(), info.NodeID, info.ValidatorKey)
		}
		ew.printf("  peers          %s\n", info.CometConfig.P2P.PersistentPeers)
		if t == nil {
			ew.printf("  state sync     off (%s):\n                 the node replays every block from genesis\n", why)
		} else {
			ew.printf("  state sync     on, trusting block %d, hash %s,\n", t.Height, t.Hash)
			ew.printf("                 served alike by %s", strings.Join(t.RPCServers, " and "))
			if t.GenesisPower > 0 {
				ew.printf(", signed by validators holding %d of the genesis validators' %d voting power", t.SignedPower, t.GenesisPower)
			} else {
				ew.printf(" (the validators changed since genesis: the servers' agreement is the trust)")
			}
			ew.printf(";\n                 the light client verifies the snapshot's app hash from it (trust period %s: start the node within it)\n", t.Period)
			var admits, refuses []string
			for _, a := range t.Answers {
				switch {
				case a.Err != nil:
				case a.Admits:
					admits = append(admits, a.Server)
				default:
					refuses = append(refuses, a.Server+" ("+a.AdmitLog+")")
				}
			}
			if len(admits) > 0 {
				ew.printf("  admitted by    %s\n", strings.Join(admits, ", "))
			}
			if len(refuses) > 0 {
				ew.printf("  not admitted   by %s: the node waits until their roster names it\n", strings.Join(refuses, ", "))
			}
		}
		ew.printf("  seat file      %s\n", info.SeatFile)
		if !info.InRoster {
			ew.printf("propose it with: evidenced propose add --seat %s --power N\n", info.SeatFile)
		}
		ew.printf("Start it with: evidenced start --home %s\n", s.Home)
	})
}
