package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MosquittoOptions configures a test broker. The zero value is a plain,
// anonymous listener on a free loopback port with persistence on.
type MosquittoOptions struct {
	// TLS adds a second listener that speaks TLS with a server certificate
	// for 127.0.0.1 and localhost, signed by a CA the helper makes
	// (Mosquitto.PKI). Client certificates are checked against the same CA.
	TLS bool
	// RequireClientCert makes the TLS listener refuse clients without a
	// certificate signed by the PKI's CA.
	RequireClientCert bool
	// ServerCert overrides the TLS listener's certificate, e.g. an expired
	// one made with PKI.Issue; ServerKey goes with it.
	ServerCert, ServerKey string
	// Users, if set, become the broker's password file (hashed with
	// mosquitto_passwd) and anonymous clients are refused.
	Users map[string]string
	// Config holds extra mosquitto.conf lines, appended as given.
	Config []string
}

// Mosquitto is a real Debian mosquitto started for one test. It is killed by
// pid when the test ends. Stop and Restart keep its ports, configuration and
// persistence directory, so a test can simulate a broker outage.
type Mosquitto struct {
	// URL is the plain listener, tcp://127.0.0.1:PORT.
	URL string
	// TLSURL is the TLS listener, tls://127.0.0.1:PORT, when Options.TLS.
	TLSURL string
	// PKI is the CA behind the TLS listener, to issue client certificates.
	PKI *PKI
	// Dir holds mosquitto.conf, the password file, persistence and the log.
	Dir string

	t    testing.TB
	bin  string
	conf string
	addr []string
	proc *Process
}

// StartMosquitto starts a broker and waits until its listeners accept
// connections. Without mosquitto installed the test is skipped (failed under
// CI=true).
func StartMosquitto(t testing.TB, o MosquittoOptions) *Mosquitto {
	t.Helper()
	bin := LookPath(t, "mosquitto")
	dir := t.TempDir()
	// Debian's mosquitto drops root for the "mosquitto" user unless told to
	// stay; the temp dir must also be reachable if it ever does.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{Dir: dir, t: t, bin: bin, conf: filepath.Join(dir, "mosquitto.conf")}
	port := FreePort(t)
	m.URL = fmt.Sprintf("tcp://127.0.0.1:%d", port)
	m.addr = append(m.addr, fmt.Sprintf("127.0.0.1:%d", port))

	var c []string
	add := func(format string, args ...any) { c = append(c, fmt.Sprintf(format, args...)) }
	if os.Geteuid() == 0 {
		add("user root")
	}
	add("persistence true")
	add("persistence_location %s/", dir)
	add("log_dest file %s", filepath.Join(dir, "mosquitto.log"))
	add("log_type all")
	add("max_queued_messages 100000")
	if len(o.Users) > 0 {
		add("allow_anonymous false")
		add("password_file %s", m.writePasswords(o.Users))
	} else {
		add("allow_anonymous true")
	}
	add("listener %d 127.0.0.1", port)
	if o.TLS {
		m.PKI = NewPKI(t, "mosquitto")
		cert, key := o.ServerCert, o.ServerKey
		if cert == "" {
			cert, key = m.PKI.Issue(t, "broker", CertOptions{Server: true, Hosts: []string{"127.0.0.1", "localhost"}})
		}
		tport := FreePort(t)
		m.TLSURL = fmt.Sprintf("tls://127.0.0.1:%d", tport)
		m.addr = append(m.addr, fmt.Sprintf("127.0.0.1:%d", tport))
		add("listener %d 127.0.0.1", tport)
		add("cafile %s", m.PKI.CAFile)
		add("certfile %s", cert)
		add("keyfile %s", key)
		add("require_certificate %t", o.RequireClientCert)
	}
	c = append(c, o.Config...)
	if err := os.WriteFile(m.conf, []byte(strings.Join(c, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.Start()
	return m
}

func (m *Mosquitto) writePasswords(users map[string]string) string {
	m.t.Helper()
	path := filepath.Join(m.Dir, "passwords")
	tool := LookPath(m.t, "mosquitto_passwd")
	for user, pw := range users {
		args := []string{"-b", path, user, pw}
		if _, err := os.Stat(path); err != nil {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			m.t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	return path
}

// Start runs the broker (again, after Stop or Kill) on the same ports.
func (m *Mosquitto) Start() {
	m.t.Helper()
	if m.proc != nil && !m.proc.Exited() {
		m.t.Fatalf("mosquitto is already running")
	}
	m.proc = Start(m.t, m.bin, "-c", m.conf)
	for _, a := range m.addr {
		m.waitForPort(a)
	}
}

func (m *Mosquitto) waitForPort(addr string) {
	m.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !Dialable(addr) {
		if m.proc.Exited() || time.Now().After(deadline) {
			m.t.Fatalf("mosquitto does not listen on %s: %s\nlog:\n%s", addr, m.proc.Output(), m.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the broker gracefully (SIGTERM), so it saves its persistence.
func (m *Mosquitto) Stop() {
	if m.proc != nil {
		m.proc.Stop(5 * time.Second)
	}
}

// Kill ends the broker with SIGKILL, as a crash or power cut would.
func (m *Mosquitto) Kill() {
	if m.proc != nil {
		m.proc.Signal(syscall.SIGKILL)
		m.proc.Kill()
	}
}

// Restart stops the broker and starts it again with the same state.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	m.Start()
}

// Log returns the broker's log file so far, for failure messages.
func (m *Mosquitto) Log() string {
	b, _ := os.ReadFile(filepath.Join(m.Dir, "mosquitto.log"))
	return string(b)
}

// Addr returns host:port of the plain listener.
func (m *Mosquitto) Addr() string { return m.addr[0] }

// Dialable reports whether something accepts TCP connections on addr now.
func Dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// PID returns the running broker's process id (0 when it is not running),
// for harnesses that sample its CPU and memory.
func (m *Mosquitto) PID() int {
	if m.proc == nil || m.proc.Exited() || m.proc.Cmd.Process == nil {
		return 0
	}
	return m.proc.Cmd.Process.Pid
}
