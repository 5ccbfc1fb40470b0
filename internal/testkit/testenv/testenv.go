package testenv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CI reports whether the tests run under CI=true.
func CI() bool { return os.Getenv("CI") == "true" }

// LookPath returns the program's path. Without it the test is skipped, or
// failed under CI=true. Debian puts daemons in /usr/sbin, which is not on
// every user's PATH, so that is searched too.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if CI() {
		t.Fatalf("%s is not installed; the test command (scripts/test) should have installed it", name)
	}
	t.Skipf("%s is not installed (run scripts/test, which installs it, or apt-get install it)", name)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a server the test starts (see PickPort).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := PickPort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

// PickPort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that this process has not handed out before.
//
// It is taken below the kernel's ephemeral range where there is room
// (Linux: /proc/sys/net/ipv4/ip_local_port_range). A port from
// net.Listen(":0") is an ephemeral one: between its choice and the server's
// bind any outgoing connection of any process may be given it, and with
// the suite's packages running side by side one was (a nats-server node
// failed with "address already in use" in a clean CI run). Below the range
// only another explicit bind can take it.
func PickPort() (int, error) {
	lo, hi := portsBelowEphemeral()
	ports.Lock()
	defer ports.Unlock()
	for range 64 {
		port := 0
		if hi > lo {
			port = lo + rand.IntN(hi-lo)
			if ports.given[port] {
				continue
			}
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			if port == 0 {
				return 0, err
			}
			continue // in use: another
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if ports.given[port] {
			continue // any free port (no range) may be one handed out before
		}
		if ports.given == nil {
			ports.given = map[int]bool{}
		}
		ports.given[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("no free port in %d-%d after 64 tries", lo, hi)
}

// ports are the ports PickPort handed out (a stopped server keeps its
// port for its restart, though the port is free meanwhile).
var ports struct {
	sync.Mutex
	given map[int]bool
}

// portsBelowEphemeral is the range PickPort takes ports from: the 10,000
// below the ephemeral range, or none (lo == hi: any free port) where that
// range is unknown or leaves no room above 1024. Read once per process.
var portsBelowEphemeral = sync.OnceValues(func() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	return belowPortRange(b)
})

// belowPortRange parses ip_local_port_range ("32768\t60999\n") into the
// 10,000 ports below its first (0, 0 when it is not two numbers or starts
// too low to leave room above 1024).
func belowPortRange(b []byte) (lo, hi int) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0
	}
	first, err := strconv.Atoi(f[0])
	if err != nil || first < 1024+1000 || first > 65535 {
		return 0, 0
	}
	return max(1024, first-10000), first
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Process is a child process started for a test.
type Process struct {
	Cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
	err  error
}

// Start runs a program in its own process group; it is killed (the whole
// group, by pid) when the test ends, whatever happens to the test.
func Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	return StartEnv(t, nil, name, args...)
}

// StartEnv is Start with extra environment variables ("KEY=value") added to
// the test's own.
func StartEnv(t testing.TB, env []string, name string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(name, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	return StartCmd(t, cmd)
}

// StartCmd is Start for a command prepared by the caller (its environment,
// directory or credentials); its output goes to the Process.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	name := cmd.Path
	buf := &Buffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Cmd: cmd, out: buf, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Kill() })
	return p
}

// Output returns what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end, at most d.
func (p *Process) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("%s still running after %v", p.Cmd.Path, d)
	}
}

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) {
	if p.Cmd.Process != nil {
		signalGroup(p.Cmd.Process, sig)
	}
}

// Kill ends the process group with SIGKILL and waits for it.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	p.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the process group to end with SIGTERM, then kills it after d.
func (p *Process) Stop(d time.Duration) {
	if p.Exited() {
		return
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(d):
		p.Kill()
	}
}

// WaitForPort waits until something accepts TCP connections on addr.
func WaitForPort(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %v: %v", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitFor polls cond until it holds or d passes. It is for waiting on other
// processes, never for asserting how fast something is.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Buffer collects output written from several goroutines (a child
// process's, a logger's) for the test to read.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Clone(s.b.String())
}

// ReadFile returns the file's content, failing the test if it cannot.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Replace replaces the first occurrence of each key of edits in text with its
// value, failing the test if text lacks one: for tests that run a shipped
// file with a few settings moved (ports, directories).
func Replace(t testing.TB, text string, edits map[string]string) string {
	t.Helper()
	for old, repl := range edits {
		if !strings.Contains(text, old) {
			t.Fatalf("the text no longer says %q:\n%s", old, text)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	return text
}

// Answers reports whether a GET of url answers 200 OK now.
func Answers(url string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}
