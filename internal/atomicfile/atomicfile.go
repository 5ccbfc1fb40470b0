// Package atomicfile replaces a file in one step: readers see the old
// content or the new one, never a part, and a failure leaves the old file.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data. prepare, if not nil, runs on the new
// file before anything is written to it (to set its mode, owner or ACL:
// a secret is never readable by others, even for a moment).
func Write(path string, data []byte, prepare func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if prepare != nil {
		if err := prepare(tmp); err != nil {
			tmp.Close()
			return err
		}
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
