package sysfstest

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Unpack lays out the archive in a temporary directory and returns it, for
// use as the sysfs root.
func Unpack(t testing.TB, archive string) string {
	t.Helper()
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := UnpackTo(root, string(data)); err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	return root
}

type entry struct {
	path, link string
	binary     bool
	body       []string
	line       int
}

// UnpackTo writes the archive's files under root.
func UnpackTo(root, archive string) error {
	var entries []*entry
	for n, line := range strings.Split(archive, "\n") {
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --") {
			name := strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")
			e := &entry{line: n + 1}
			if p, target, ok := strings.Cut(name, " -> "); ok {
				e.path, e.link = p, target
			} else if p, ok := strings.CutSuffix(name, " (hex)"); ok {
				e.path, e.binary = p, true
			} else {
				e.path = name
			}
			entries = append(entries, e)
			continue
		}
		if len(entries) > 0 {
			e := entries[len(entries)-1]
			e.body = append(e.body, line)
		}
	}
	for _, e := range entries {
		if err := e.write(root); err != nil {
			return fmt.Errorf("line %d (%s): %w", e.line, e.path, err)
		}
	}
	return nil
}

func (e *entry) write(root string) error {
	clean := filepath.Clean(filepath.FromSlash(strings.TrimSuffix(e.path, "/")))
	if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
		return fmt.Errorf("path leaves the root")
	}
	full := filepath.Join(root, clean)
	if strings.HasSuffix(e.path, "/") {
		return os.MkdirAll(full, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if e.link != "" {
		return os.Symlink(filepath.FromSlash(e.link), full)
	}
	// Trailing blank lines separate entries; they are not content.
	body := e.body
	for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
		body = body[:len(body)-1]
	}
	if e.binary {
		b, err := hex.DecodeString(strings.Join(strings.Fields(strings.Join(body, " ")), ""))
		if err != nil {
			return err
		}
		return os.WriteFile(full, b, 0o444)
	}
	text := ""
	if len(body) > 0 {
		text = strings.Join(body, "\n") + "\n"
	}
	return os.WriteFile(full, []byte(text), 0o444)
}
