package abci

import (
	"github.com/evidenced/evidenced/ledger"
	"github.com/evidenced/evidenced/store"
)

// Store is the committed state an App runs on. *store.DB implements it;
// its methods must be safe for concurrent use (CometBFT calls the App on
// several connections at once).
type Store interface {
	// Read calls fn with a consistent read-only view of the committed
	// state and the height it shows (-1 when nothing has been committed),
	// and releases the view when fn returns: fn must not keep r. It
	// returns fn's error. A store that cannot give a view (closed,
	// failing) still calls fn, and r's reads fail.
	Read(fn func(r ledger.Reader, height int64) error) error
	// Committed returns the committed height and its app hash, or an
	// error wrapping store.ErrNothingCommitted before the first Commit
	// (InitChain has not run). Any other error is a failure of the store.
	Committed() (height int64, appHash []byte, err error)
	// Commit writes one block's changes with its height, app hash and
	// block time atomically: after a crash all of it is there or none.
	// The height must follow the committed one (0 first). An error means
	// nothing was written; the App returns it to CometBFT, which halts.
	Commit(c store.Commit) error
}

var _ Store = (*store.DB)(nil)
