// Package atomicfile writes files so that a crash leaves either the old
// content or the new, never a mix: the data goes to a temporary file in the
// same directory, which is synced, given its permissions, and then renamed
// (WriteFile) or hard-linked (WriteNew) into place, after which the directory
// is synced so the new name survives a crash.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrExists is returned (wrapped, together with fs.ErrExist) by WriteNew when
// the target already exists.
var ErrExists = errors.New("file already exists")

// WriteFile atomically replaces path with data, with permissions perm
// (exactly; the umask does not apply). On any failure the temporary file is
// removed and path is unchanged.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(path)
}

// WriteNew atomically creates path with data and permissions perm. It fails
// with an error wrapping ErrExists if path already exists, with no window in
// which another writer's file could be replaced: the temporary file is
// hard-linked to path, which fails if path exists. The file system must
// support hard links.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("write %s: %w: %w", path, ErrExists, err)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("write %s: remove temporary file: %w", path, err)
	}
	return syncDir(path)
}

// writeTemp writes data to a new temporary file next to path, syncs it, sets
// perm, and returns its name. On failure nothing is left behind.
func writeTemp(path string, data []byte, perm os.FileMode) (name string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	name = f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(name)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	// CreateTemp makes the file 0600; set perm before any data is written, so
	// a private file is never readable by others even briefly.
	if err := f.Chmod(perm); err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return name, nil
}

// syncDir fsyncs the directory holding path, so a rename or link in it is
// durable.
func syncDir(path string) error {
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("sync directory of %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs directory dir, so that a file created, renamed or removed
// in it stays so after a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
