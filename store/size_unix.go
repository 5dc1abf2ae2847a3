//go:build unix

package store

import (
	"io/fs"
	"syscall"
)

// allocated returns the bytes allocated to a file on disk, which for
// Badger's sparse, pre-allocated logs is less than their length.
func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return info.Size()
}
