//go:build unix

package wine

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

//go:embed shim/bcryptprimitives.c
var shimSource []byte

// sessionDebug are the Wine debug channels of the prefix's session: the
// first process (the keeper) passes them, and its standard error, to the
// service manager and every service it starts. pid tells processes apart;
// +eventlog and advapi's fixmes are how Wine 8.0, which keeps no event log,
// shows what a program reports to it (EventLog reads them back).
const sessionDebug = "-all,+pid,+eventlog,fixme+advapi"

// Prefix is a booted Wine prefix.
type Prefix struct {
	// Dir is the prefix (WINEPREFIX); C: is Dir/drive_c.
	Dir string

	root       string // temporary directory holding Dir and the session log
	wine       string
	server     string
	log        string // the session's standard error
	keeper     *exec.Cmd
	keeperIn   io.WriteCloser
	keeperDone chan struct{}
}

var (
	mainRunning bool
	once        sync.Once
	shared      *Prefix
	bootErr     error
)

// Main runs the package's tests and then stops and deletes the prefix, if
// a test booted one. Call it from TestMain.
func Main(m *testing.M) int {
	mainRunning = true
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "wine: %v\n", err)
			code = 1
		}
	}
	return code
}

// Use returns the test binary's prefix, booting it on first use (about
// 20 s). Without wine or x86_64-w64-mingw32-gcc the test is skipped, or
// failed under CI=true.
func Use(t testing.TB) *Prefix {
	t.Helper()
	if !mainRunning {
		t.Fatal("wine.Use needs TestMain to run the tests through wine.Main, which stops the prefix")
	}
	wine := testenv.LookPath(t, "wine")
	server := testenv.LookPath(t, "wineserver")
	gcc := testenv.LookPath(t, "x86_64-w64-mingw32-gcc")
	once.Do(func() { shared, bootErr = boot(wine, server, gcc) })
	if bootErr != nil {
		t.Fatalf("wine prefix: %v", bootErr)
	}
	p := shared
	mark := len(p.SessionLog())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the Wine session wrote during the test:\n%s", p.SessionLog()[mark:])
		}
	})
	return p
}

func boot(wine, server, gcc string) (_ *Prefix, err error) {
	root, err := os.MkdirTemp("", "storewatch-wine-")
	if err != nil {
		return nil, err
	}
	p := &Prefix{Dir: filepath.Join(root, "prefix"), root: root, wine: wine, server: server,
		log: filepath.Join(root, "session.log")}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()

	if err := p.startSession(); err != nil {
		return p, err
	}

	dll := filepath.Join(p.Dir, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(dll); err == nil {
		return p, nil // a later Wine has its own
	}
	src := filepath.Join(root, "bcryptprimitives.c")
	if err := os.WriteFile(src, shimSource, 0o644); err != nil {
		return p, err
	}
	if out, err := exec.Command(gcc, "-shared", "-nostdlib", "-O2", "-s", "-o", dll, src, "-ladvapi32").CombinedOutput(); err != nil {
		return p, fmt.Errorf("build the bcryptprimitives.dll shim: %v: %s", err, out)
	}
	return p, nil
}

// startSession starts the keeper, the session's first process: a cmd.exe
// waiting on a pipe nobody writes to. Wine creates the prefix for it (the
// first time) and starts the system processes (services.exe and its
// services, mountmgr with the serial ports) with its environment and
// standard error; and while it runs, Wine does not shut the session down
// between two of a test's commands.
func (p *Prefix) startSession() error {
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	out, err := os.Create(filepath.Join(p.root, "keeper.out"))
	if err != nil {
		return err
	}
	defer out.Close()
	p.keeper = exec.Command(p.wine, "cmd.exe")
	p.keeper.Dir = p.root
	p.keeper.Env = p.environ(sessionDebug)
	p.keeper.Stdout, p.keeper.Stderr = out, logf
	p.keeper.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p.keeperIn, err = p.keeper.StdinPipe(); err != nil {
		return err
	}
	if err := p.keeper.Start(); err != nil {
		return fmt.Errorf("start wine: %w", err)
	}
	done := make(chan struct{})
	p.keeperDone = done
	go func() { p.keeper.Wait(); close(done) }()

	// Wine prepares the prefix before it runs the keeper's cmd.exe, whose
	// prompt says that it is done. Any other program started before would
	// start the session itself, with its own output.
	prompt := regexp.MustCompile(`(?m)^[A-Z]:\\[^\n]*>`)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if b, _ := os.ReadFile(out.Name()); prompt.Match(b) {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("wine cmd.exe ended: %v\n%s", p.keeper.ProcessState, p.SessionLog())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the prefix is not ready after 5 minutes:\n%s", p.SessionLog())
		}
	}
}

// stopSession ends every process of the prefix: wineserver -k for this
// prefix only.
func (p *Prefix) stopSession() {
	if p.keeperIn != nil {
		p.keeperIn.Close()
	}
	kill := exec.Command(p.server, "-k")
	kill.Env = p.environ("-all")
	_ = kill.Run() // fails when no server runs, which is fine
	if p.keeper != nil && p.keeper.Process != nil {
		select {
		case <-p.keeperDone:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-p.keeper.Process.Pid, syscall.SIGKILL)
			<-p.keeperDone
		}
	}
	p.keeper, p.keeperIn = nil, nil
}

// Restart stops every process of the prefix and starts the session again,
// as a reboot would: for settings Wine reads only at start (serial ports).
func (p *Prefix) Restart(t testing.TB) {
	t.Helper()
	p.stopSession()
	if err := p.startSession(); err != nil {
		t.Fatalf("wine: restart: %v", err)
	}
}

// MapCOM makes the Linux serial device dev (a pseudo-terminal with an
// emulated device behind it) the prefix's port name (COM3), as Wine's
// mountmgr does for the ports listed in HKLM\Software\Wine\Ports, and
// restarts the session so that it does: the port then appears in
// HKLM\HARDWARE\DEVICEMAP\SERIALCOMM, where Windows lists serial ports.
// The mapping is removed when the test ends (effective at the next
// restart).
func (p *Prefix) MapCOM(t testing.TB, name, dev string) {
	t.Helper()
	if r := p.Run(t, "reg.exe", "add", `HKLM\Software\Wine\Ports`, "/v", name, "/d", dev, "/f"); r.Code != 0 {
		t.Fatalf("reg add %s: %s%s", name, r.Stdout, r.Stderr)
	}
	t.Cleanup(func() { p.Run(t, "reg.exe", "delete", `HKLM\Software\Wine\Ports`, "/v", name, "/f") })
	p.Restart(t)
}

// environ is the environment of a Wine command: the test's own without a
// display (Wine runs console programs headless) and without settings of
// another prefix, with debug as WINEDEBUG. mscoree and mshtml are off so
// that Wine never offers to install Mono or Gecko.
func (p *Prefix) environ(debug string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DISPLAY", "WAYLAND_DISPLAY", "WINEPREFIX", "WINEDEBUG", "WINEARCH", "WINEDLLOVERRIDES", "WINESERVER", "WINELOADER":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "WINEPREFIX="+p.Dir, "WINEDEBUG="+debug, "WINEDLLOVERRIDES=mscoree,mshtml=")
}

// Command prepares a Windows program (a Windows path, a path in the
// prefix's system directory such as reg.exe, or a Linux path to an .exe)
// to run in the prefix, in its own process group.
func (p *Prefix) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.wine, append([]string{exe}, args...)...)
	cmd.Env = p.environ("-all")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Result is how a program ended.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs a program to its end (at most 3 minutes) and returns what it
// printed and its exit code; failing to run it at all fails the test.
func (p *Prefix) Run(t testing.TB, exe string, args ...string) Result {
	t.Helper()
	return p.RunEnv(t, nil, exe, args...)
}

// RunEnv is Run with environment variables ("KEY=value") added; Wine
// passes them on to the Windows program.
func (p *Prefix) RunEnv(t testing.TB, env []string, exe string, args ...string) Result {
	t.Helper()
	return p.RunIn(t, "", env, exe, args...)
}

// RunIn is RunEnv in the Linux directory dir (Z:\... to the program);
// "" is the test's own.
func (p *Prefix) RunIn(t testing.TB, dir string, env []string, exe string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := p.Command(ctx, exe, args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, env...)
	// Files, not pipes: Wine's own processes may inherit the handles and
	// outlive the program, and a pipe would keep Run waiting for them.
	out := t.TempDir()
	stdout, err := os.Create(filepath.Join(out, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(out, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	outb, _ := os.ReadFile(stdout.Name())
	errb, _ := os.ReadFile(stderr.Name())
	r := Result{Stdout: string(outb), Stderr: string(errb)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("wine %s %s: still running after 3 minutes\n%s%s", exe, strings.Join(args, " "), r.Stdout, r.Stderr)
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("wine %s: %v", exe, err)
	}
	return r
}

// Start runs a program in the background; it is killed (SIGKILL, as a
// power cut would end it) when the test ends. SIGINT reaches a Windows
// console program as Ctrl-C.
func (p *Prefix) Start(t testing.TB, exe string, args ...string) *testenv.Process {
	t.Helper()
	cmd := exec.Command(p.wine, append([]string{exe}, args...)...)
	cmd.Env = p.environ("-all")
	return testenv.StartCmd(t, cmd)
}

// Path returns where a path on the prefix's C: drive (C:\ProgramData\x)
// lies on Linux.
func (p *Prefix) Path(win string) string {
	rest, ok := strings.CutPrefix(win, `C:\`)
	if !ok {
		rest, ok = strings.CutPrefix(win, `c:\`)
	}
	if !ok {
		panic("wine: not a path on C: " + win)
	}
	return filepath.Join(p.Dir, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// WinPath returns the Windows name of a Linux path: on C: when it lies in
// the prefix's drive_c, else on Z:, Wine's drive for /.
func (p *Prefix) WinPath(linux string) string {
	c := filepath.Join(p.Dir, "drive_c")
	if rel, err := filepath.Rel(c, linux); err == nil && !strings.HasPrefix(rel, "..") {
		return `C:\` + strings.ReplaceAll(rel, "/", `\`)
	}
	return `Z:` + strings.ReplaceAll(linux, "/", `\`)
}

// SessionLog returns what the session's processes wrote to standard error
// so far: the services' output and Wine's debug channels (sessionDebug).
func (p *Prefix) SessionLog() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Close stops every process of the prefix (wineserver -k for this prefix
// only), checks that none is left, and deletes the prefix.
func (p *Prefix) Close() error {
	var errs []error
	p.stopSession()
	// wineserver -k ends the prefix's processes; anything still holding
	// this WINEPREFIX after a moment is a leak, ended here by pid.
	deadline := time.Now().Add(10 * time.Second)
	left := processesOf(p.Dir)
	for len(left) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		left = processesOf(p.Dir)
	}
	if len(left) > 0 {
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		errs = append(errs, fmt.Errorf("processes of %s still ran after wineserver -k and were killed: %v", p.Dir, left))
	}
	if err := os.RemoveAll(p.root); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// WaitExited waits (at most 30 s) until no process of the prefix runs the
// program image (storeagent.exe): a service reports itself stopped to the
// service manager a moment before its process has ended, and until then
// Windows keeps its program file in use.
func (p *Prefix) WaitExited(t testing.TB, image string) {
	t.Helper()
	running := func() bool {
		for _, pid := range processesOf(p.Dir) {
			cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			if bytes.Contains(bytes.ToLower(cmd), []byte(strings.ToLower(image))) {
				return true
			}
		}
		return false
	}
	testenv.WaitFor(t, 30*time.Second, image+" to end", func() bool { return !running() })
}

// processesOf lists the processes whose environment names prefix as their
// WINEPREFIX: Wine passes it to every process of the prefix, the
// wineserver included.
func processesOf(prefix string) []int {
	want := []byte("WINEPREFIX=" + prefix + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		if bytes.HasPrefix(env, want) || bytes.Contains(env, append([]byte{0}, want...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
