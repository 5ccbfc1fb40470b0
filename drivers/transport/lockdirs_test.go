//go:build !windows

package transport

import (
	"os"
	"path/filepath"
	"testing"
)

// A lock directory reached twice (/var/lock is a link to /run/lock on most
// systems) is searched once.
func TestLockDirsOnce(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "lock")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	old := LockDirs
	LockDirs = []string{link, dir, other}
	t.Cleanup(func() { LockDirs = old })
	if got := lockDirs(); len(got) != 2 || got[0] != link || got[1] != other {
		t.Errorf("lockDirs() = %v, want [%s %s]", got, link, other)
	}
}
