package snapshots

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/evidenced/evidenced/crypto"
)

// chunkWriter writes a stream of pairs as chunk files in a directory,
// cutting a chunk before the pair that would take it beyond size, and
// hashes each chunk as it goes: memory stays at one write buffer.
type chunkWriter struct {
	dir  string
	size int

	f   *os.File
	bw  *bufio.Writer
	h   hash.Hash
	out io.Writer // bw and h
	n   int       // bytes in the current chunk

	hashes []crypto.Hash
	pairs  uint64
	hdr    []byte
}

// add writes one pair.
func (w *chunkWriter) add(key, value []byte) error {
	if len(key) == 0 || len(key) > maxKeyLen {
		return fmt.Errorf("key %x of %d bytes: a snapshot holds keys of 1 to %d bytes", key, len(key), maxKeyLen)
	}
	size := pairSize(key, value)
	if w.f != nil && w.n+size > w.size {
		if err := w.closeChunk(); err != nil {
			return err
		}
	}
	if w.f == nil {
		if err := w.openChunk(); err != nil {
			return err
		}
	}
	if w.n+size > MaxChunkBytes {
		return fmt.Errorf("the pair of key %x holds %d bytes, more than a chunk may (%d)", key, size, MaxChunkBytes)
	}
	w.hdr = binary.BigEndian.AppendUint16(w.hdr[:0], uint16(len(key)))
	w.hdr = append(w.hdr, key...)
	w.hdr = binary.BigEndian.AppendUint32(w.hdr, uint32(len(value)))
	if _, err := w.out.Write(w.hdr); err != nil {
		return fmt.Errorf("write chunk %d: %w", len(w.hashes), err)
	}
	if _, err := w.out.Write(value); err != nil {
		return fmt.Errorf("write chunk %d: %w", len(w.hashes), err)
	}
	w.n += size
	w.pairs++
	return nil
}

// openChunk starts the next chunk file.
func (w *chunkWriter) openChunk() error {
	if len(w.hashes) >= MaxChunks {
		return fmt.Errorf("the state needs more than %d chunks of %d bytes: raise statesync.snapshot_chunk_size in evidenced.toml", MaxChunks, w.size)
	}
	f, err := os.OpenFile(filepath.Join(w.dir, chunkFile(len(w.hashes))), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w.f, w.h = f, crypto.NewSM3()
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 256<<10)
	} else {
		w.bw.Reset(f)
	}
	w.out = io.MultiWriter(w.bw, w.h)
	if _, err := w.out.Write([]byte{chunkVersion}); err != nil {
		return fmt.Errorf("write chunk %d: %w", len(w.hashes), err)
	}
	w.n = 1
	return nil
}

// closeChunk flushes, syncs and closes the current chunk and records its
// hash.
func (w *chunkWriter) closeChunk() error {
	f := w.f
	w.f = nil
	if err := w.bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write chunk %d: %w", len(w.hashes), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write chunk %d: %w", len(w.hashes), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write chunk %d: %w", len(w.hashes), err)
	}
	var sum crypto.Hash
	w.h.Sum(sum[:0])
	w.hashes = append(w.hashes, sum)
	return nil
}

// close ends the last chunk.
func (w *chunkWriter) close() error {
	if w.f == nil {
		return nil
	}
	return w.closeChunk()
}

// abandon closes the current chunk file without keeping it.
func (w *chunkWriter) abandon() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
