package transport_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// lockDir points the lock file search at a temporary directory, so no test
// touches the host's /var/lock.
func lockDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	old := transport.LockDirs
	transport.LockDirs = []string{dir}
	t.Cleanup(func() { transport.LockDirs = old })
	return dir
}

func dialPTY(t *testing.T, path string, exclusive bool) (transport.Conn, error) {
	t.Helper()
	a, err := transport.Parse("serial://" + path)
	if err != nil {
		t.Fatal(err)
	}
	a.Exclusive = exclusive
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return transport.Dial(ctx, a, transport.DialOptions{})
}

// exclusiveFlag asks the kernel whether the terminal is in exclusive mode
// (TIOCGEXCL), through a descriptor of its own: root may open an exclusive
// terminal, so this works while the agent's descriptor is open.
func exclusiveFlag(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("cannot open %s to read its exclusive flag: %v", path, err)
	}
	defer f.Close()
	v, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGEXCL)
	if err != nil {
		t.Fatalf("TIOCGEXCL: %v", err)
	}
	return v != 0
}

// go.bug.st/serial sets TIOCEXCL at every open; the agent clears it, so the
// POS application can open its printer while a probe has it.
func TestSerialOpenLeavesThePortToOthers(t *testing.T) {
	lockDir(t)
	p, err := devsim.ServePTY(context.Background(), echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, exclusive := range []bool{false, true} {
		c, err := dialPTY(t, p.Path, exclusive)
		if err != nil {
			t.Fatal(err)
		}
		if got := exclusiveFlag(t, p.Path); got != exclusive {
			t.Errorf("exclusive: %v in the config, TIOCEXCL is %v while the port is open", exclusive, got)
		}
		c.Close()
	}
}

// With exclusive: true the agent also writes a UUCP lock file for the
// time it holds the port, and removes it after.
func TestExclusiveWritesALockFile(t *testing.T) {
	dir := lockDir(t)
	p, err := devsim.ServePTY(context.Background(), echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	lock := filepath.Join(dir, "LCK.."+filepath.Base(p.Path))
	c, err := dialPTY(t, p.Path, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(lock)
	if err != nil {
		t.Fatalf("no lock file while the port is held: %v", err)
	}
	if pid, err := transport.ParseLockPID(b); err != nil || pid != os.Getpid() {
		t.Errorf("lock file says %q (%d, %v), want our pid %d", b, pid, err, os.Getpid())
	}
	c.Close()
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left behind after close: %v", err)
	}
	// Without exclusive, no lock file: a lock-aware POS application that
	// starts during a probe must not fail to open its printer.
	c, err = dialPTY(t, p.Path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("shared open wrote a lock file: %v", err)
	}
}

// holder starts a program standing in for the POS application; it is
// stopped by pid when the test ends.
func holder(t *testing.T, stdin *os.File) *testenv.Process {
	t.Helper()
	cmd := exec.Command(testenv.LookPath(t, "sleep"), "300")
	cmd.Stdin = stdin
	return testenv.StartCmd(t, cmd)
}

func TestLockFileOfALiveProcessMakesThePortBusy(t *testing.T) {
	dir := lockDir(t)
	p, err := devsim.ServePTY(context.Background(), echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pos := holder(t, nil)
	pid := pos.Cmd.Process.Pid
	// A finished process: its lock is stale.
	dead := exec.Command(testenv.LookPath(t, "true"))
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(p.Path)
	cases := []struct {
		name    string
		file    string
		content []byte
		busy    bool
	}{
		{"HDB text form", "LCK.." + base, transport.FormatLockPID(pid), true},
		{"binary form", "LCK.." + base, []byte{byte(pid), byte(pid >> 8), byte(pid >> 16), byte(pid >> 24)}, true},
		{"lockdev form for a device in a subdirectory", "LCK..pts_" + base, transport.FormatLockPID(pid), true},
		{"stale: the process is gone", "LCK.." + base, transport.FormatLockPID(dead.Process.Pid), false},
		{"our own lock", "LCK.." + base, transport.FormatLockPID(os.Getpid()), false},
		{"garbage", "LCK.." + base, []byte("not a pid"), false},
		{"another port's lock", "LCK..ttyS9", transport.FormatLockPID(pid), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, c.file)
			if err := os.WriteFile(file, c.content, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(file)
			conn, err := dialPTY(t, p.Path, false)
			if !c.busy {
				if err != nil {
					t.Fatalf("port refused: %v", err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("a port locked by a live process was opened")
			}
			if !errors.Is(err, transport.ErrBusy) || errors.Is(err, transport.ErrUnreachable) {
				t.Fatalf("err = %v, want busy and not unreachable", err)
			}
			h, _ := transport.BusyHolder(err)
			if h.PID != pid || h.Process != "sleep" {
				t.Errorf("holder = %+v, want sleep (pid %d)", h, pid)
			}
			if !strings.Contains(err.Error(), "in use by sleep (pid ") || !strings.Contains(err.Error(), file) {
				t.Errorf("error does not say who and how: %v", err)
			}
		})
	}
}

// A POS application that keeps the port open without a lock file is found
// by the kernel's list of open files.
func TestPortOpenInAnotherProcessIsBusy(t *testing.T) {
	lockDir(t)
	p, err := devsim.ServePTY(context.Background(), echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f, err := os.OpenFile(p.Path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	pos := holder(t, f)
	f.Close()
	_, err = dialPTY(t, p.Path, false)
	if !errors.Is(err, transport.ErrBusy) {
		t.Fatalf("err = %v, want busy", err)
	}
	if h, _ := transport.BusyHolder(err); h.PID != pos.Cmd.Process.Pid || h.Process != "sleep" {
		t.Errorf("holder = %+v, want sleep (pid %d)", h, pos.Cmd.Process.Pid)
	}
	pos.Kill() // waits until it is gone
	c, err := dialPTY(t, p.Path, false)
	if err != nil {
		t.Fatalf("after the holder quit: %v", err)
	}
	c.Close()
}

// After a probe found the port free, the agent does not read /proc again
// until the port is opened by someone else (inotify): a POS application
// that opens the port between two probes is still found, and after it quit
// the port is free again; the agent's own opens do not count.
func TestPortOpenedBetweenProbesIsBusy(t *testing.T) {
	lockDir(t)
	p, err := devsim.ServePTY(context.Background(), echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 3 { // free, and the agent's own opens keep it so
		c, err := dialPTY(t, p.Path, false)
		if err != nil {
			t.Fatalf("probe %d of a free port: %v", i+1, err)
		}
		c.Close()
	}
	f, err := os.OpenFile(p.Path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	pos := holder(t, f)
	f.Close()
	for i := range 2 {
		_, err = dialPTY(t, p.Path, false)
		if h, _ := transport.BusyHolder(err); !errors.Is(err, transport.ErrBusy) || h.PID != pos.Cmd.Process.Pid {
			t.Fatalf("probe %d while the POS application has the port: %v (holder %+v), want busy, held by pid %d", i+1, err, h, pos.Cmd.Process.Pid)
		}
	}
	pos.Kill()
	for i := range 2 {
		c, err := dialPTY(t, p.Path, false)
		if err != nil {
			t.Fatalf("probe %d after the holder quit: %v", i+1, err)
		}
		c.Close()
	}
}

// The lock directory's entries are read once and again only after inotify
// reports a change in it: a lock file that appears between two probes (written
// in place, or written under another name and renamed, as lockdev does) is
// still found, and one removed no longer counts.
func TestLockFileCreatedBetweenProbesIsBusy(t *testing.T) {
	dir := lockDir(t)
	p, err := devsim.ServePTY(context.Background(), echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pos := holder(t, nil)
	pid := pos.Cmd.Process.Pid
	file := filepath.Join(dir, "LCK.."+filepath.Base(p.Path))
	probe := func(step string, wantBusy bool) {
		t.Helper()
		c, err := dialPTY(t, p.Path, false)
		if wantBusy {
			if h, _ := transport.BusyHolder(err); !errors.Is(err, transport.ErrBusy) || h.PID != pid {
				t.Fatalf("%s: %v (holder %+v), want busy, held by pid %d", step, err, h, pid)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: %v, want the port free", step, err)
		}
		c.Close()
	}
	probe("before any lock", false)
	probe("again, from the directory read before", false)
	if err := os.WriteFile(file, transport.FormatLockPID(pid), 0o644); err != nil {
		t.Fatal(err)
	}
	probe("after the lock file was written", true)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	probe("after it was removed", false)
	tmp := filepath.Join(dir, "LCK.tmp")
	if err := os.WriteFile(tmp, transport.FormatLockPID(pid), 0o644); err != nil {
		t.Fatal(err)
	}
	probe("with a lock under another name", false)
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	probe("after it was renamed to the port's", true)
	probe("again", true)
}
