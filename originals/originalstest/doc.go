// Package originalstest provides in-memory fakes for testing package
// originals (and anything built on it) in one process, without CometBFT,
// libp2p or Badger:
//
//   - Network and Transport: transports that behave like blob/exchange hosts
//     (hashicorp/raft's InmemTransport): the same Config, the same checks
//     (roster, Authorize, AcceptPush, SM3 address) and the same errors, with
//     bytes copied between the members' stores instead of streamed over
//     libp2p. Closing a transport takes its node off the network.
//   - Chain: committed state advanced by a real ledger.Ledger, one block per
//     submitted transaction, over in-memory stores; its clock is the test's.
package originalstest
