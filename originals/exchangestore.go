package originals

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/evidenced/evidenced/blob"
	"github.com/evidenced/evidenced/blob/exchange"
	"github.com/evidenced/evidenced/crypto"
)

// ExchangeStore gives a Transport (exchange.Config.Store) the blob store,
// with blob's errors mapped to the ones package exchange names.
func ExchangeStore(s *blob.Store) exchange.Store { return blobAdapter{s} }

// blobAdapter is the exchange.Store over a blob.Store.
type blobAdapter struct{ s *blob.Store }

// mapBlobErr maps blob's errors to the ones package exchange names.
func mapBlobErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, blob.ErrNotFound):
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	case errors.Is(err, blob.ErrBusy):
		return fmt.Errorf("%w: %w", exchange.ErrBusy, err)
	case errors.Is(err, blob.ErrAddressMismatch):
		return fmt.Errorf("%w: %w", exchange.ErrAddressMismatch, err)
	}
	return err
}

// Has implements exchange.Store.
func (a blobAdapter) Has(addr crypto.Hash) bool { return a.s.Has(addr) }

// Size implements exchange.Store.
func (a blobAdapter) Size(addr crypto.Hash) (int64, error) {
	n, err := a.s.Size(addr)
	return n, mapBlobErr(err)
}

// OpenBlob implements exchange.Store.
func (a blobAdapter) OpenBlob(addr crypto.Hash) (io.ReadSeekCloser, error) {
	f, err := a.s.OpenBlob(addr)
	if err != nil {
		return nil, mapBlobErr(err)
	}
	return f, nil
}

// Receive implements exchange.Store.
func (a blobAdapter) Receive(addr crypto.Hash, size int64) (exchange.Incoming, error) {
	in, err := a.s.Receive(addr, size)
	if err != nil {
		return nil, mapBlobErr(err)
	}
	return incomingAdapter{in}, nil
}

// incomingAdapter gives the exchange a blob.Incoming with its errors mapped.
type incomingAdapter struct{ *blob.Incoming }

// Commit implements exchange.Incoming.
func (i incomingAdapter) Commit() error { return mapBlobErr(i.Incoming.Commit()) }
