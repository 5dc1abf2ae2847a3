package store

import (
	"io/fs"
	"path/filepath"
)

// dirSize sums the on-disk bytes of the files under dir: .vlog files into
// vlog, everything else into lsm.
func dirSize(dir string) (lsm, vlog int64) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // a file removed by compaction mid-walk: skip it
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		n := allocated(info)
		if filepath.Ext(path) == ".vlog" {
			vlog += n
		} else {
			lsm += n
		}
		return nil
	})
	return lsm, vlog
}
