// Package simtest holds the determinism simulation of the ledger: several
// in-process replicas, each with its own Badger directory, are fed the same
// seeded random blocks (valid and invalid transactions) and randomly killed
// and reopened; at every height they must agree on the app hash and results.
//
// Run it with
//
//	go test ./ledger/... -run Determinism -count=1 -v
//
// and reproduce a failure with -sim.seed=N (the seed is printed on failure).
// The package has no non-test code.
package simtest
