package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/config"
)

// The log file rotates before a line would take it past its size: the
// newest old file is .1, at most keep old files stay, and no line is split
// or lost between the files that are kept.
func TestRotatingFileKeepsTheNewestLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "storeagent.log")
	f := NewRotatingFile(path, 100, 2)
	defer f.Close()
	for i := range 20 {
		if _, err := fmt.Fprintf(f, "line %02d of the log\n", i); err != nil { // 20 bytes
			t.Fatal(err)
		}
	}
	var got []string
	for _, name := range []string{path + ".2", path + ".1", path} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 100 {
			t.Errorf("%s has %d bytes, more than 100", name, len(b))
		}
		got = append(got, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Errorf("a third old file was kept")
	}
	// 5 lines per file, three files: the last 15 lines in order.
	for i, line := range got {
		if want := fmt.Sprintf("line %02d of the log", 5+i); line != want {
			t.Fatalf("line %d is %q, want %q (all: %q)", i, line, want, got)
		}
	}
	if len(got) != 15 {
		t.Errorf("%d lines kept, want 15", len(got))
	}
}

// An existing file is appended to and counts towards its size; a line
// longer than the limit still goes in whole.
func TestRotatingFileAppendsAndNeverSplitsALine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	os.WriteFile(path, []byte("from before\n"), 0o640)
	f := NewRotatingFile(path, 30, 1)
	f.Write([]byte("second line\n"))
	long := bytes.Repeat([]byte("x"), 50)
	f.Write(append(long, '\n'))
	f.Close()
	if b, _ := os.ReadFile(path + ".1"); string(b) != "from before\nsecond line\n" {
		t.Errorf("old file %q", b)
	}
	if b, _ := os.ReadFile(path); string(b) != string(long)+"\n" {
		t.Errorf("current file %q", b)
	}
}

// With log.file the agent logs to its output as configured and to the file
// as JSON lines; a file it cannot create is an error at start.
func TestNewLoggerWithFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "storeagent.log")
	var out bytes.Buffer
	log, closeLog, err := NewLogger(config.AgentLog{Level: "info", Format: "text", File: path, MaxBytes: 1 << 20, MaxFiles: 2}, &out)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("not logged")
	log.Warn("paper is low", "device", "receipt-1")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(out.String(), `level=WARN msg="paper is low" device=receipt-1`) ||
		!regexp.MustCompile(`^\{"time":"[^"]+","level":"WARN","msg":"paper is low","device":"receipt-1"\}\n$`).Match(b) {
		t.Errorf("output %q, file %q", out.String(), b)
	}
	if _, _, err := NewLogger(config.AgentLog{Level: "info", Format: "text", File: filepath.Join(path, "x", "y.log"), MaxBytes: 1 << 20, MaxFiles: 1}, &out); err == nil || !strings.Contains(err.Error(), "log.file") {
		t.Errorf("an impossible log.file: %v", err)
	}
}
