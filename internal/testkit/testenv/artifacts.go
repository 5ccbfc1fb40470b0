package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// ArtifactsDir returns a directory for files a test leaves for people to
// look at (screenshots, rendered reports), creating it: sub under
// $ARTIFACTS_DIR, or under test-artifacts/ at the top of the repository
// (gitignored). CI keeps that directory.
func ArtifactsDir(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(wd, "test-artifacts")
		for d := wd; filepath.Dir(d) != d; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "test-artifacts")
				break
			}
		}
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
