package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RepoRoot finds the module root (the directory holding go.mod) from the
// working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("bench: no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildRelease builds a command as scripts/package does for a release
// (CGO off, stripped, -trimpath) into dir and returns the binary's path.
func BuildRelease(root, dir, cmd string) (string, error) {
	out := filepath.Join(dir, cmd)
	c := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./cmd/"+cmd)
	c.Dir = root
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", cmd, err, b)
	}
	return out, nil
}

// Output runs a command and returns its trimmed output ("?" on failure),
// for version lines in the report.
func Output(name string, args ...string) string {
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && len(b) == 0 {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
