package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Cupsd is a real Debian cupsd started for one test: its own configuration,
// spool, cache, state and logs in a temporary directory, listening on a free
// loopback port only (no domain socket, no printcap, no DNS-SD), stopped by
// pid when the test ends. Its queues are administered with CUPS's own tools
// (Run).
type Cupsd struct {
	// Host is 127.0.0.1:PORT: what CUPS_SERVER and the tools' -h take.
	Host string
	Dir  string
	t    testing.TB
}

// StartCupsd starts cupsd and waits until it listens. Without cupsd or its
// tools (lpadmin, cupsdisable, cupsenable, cupsreject, cupsaccept, lp) the
// test is skipped, or failed under CI=true.
func StartCupsd(t testing.TB) *Cupsd {
	t.Helper()
	bin := LookPath(t, "cupsd")
	for _, tool := range []string{"lpadmin", "cupsdisable", "cupsenable", "cupsreject", "cupsaccept", "lp"} {
		LookPath(t, tool)
	}
	// Backends and filters run as the unprivileged user lp: the spool must
	// be reachable by it.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"spool", "cache", "state", "log", "tmp", "ssl", "ppd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := FreePort(t)
	files := fmt.Sprintf(`ServerRoot %[1]s
RequestRoot %[1]s/spool
CacheDir %[1]s/cache
StateDir %[1]s/state
TempDir %[1]s/tmp
ServerKeychain %[1]s/ssl
Printcap %[1]s/printcap
AccessLog %[1]s/log/access_log
ErrorLog %[1]s/log/error_log
PageLog %[1]s/log/page_log
Sandboxing Relaxed
`, dir)
	// Loopback only, no authentication: the tests administer the queue
	// with lpadmin and friends over the same port.
	conf := fmt.Sprintf(`Listen 127.0.0.1:%d
LogLevel info
Browsing No
WebInterface No
DefaultAuthType None
JobRetryInterval 1
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
`, port)
	if err := os.WriteFile(filepath.Join(dir, "cups-files.conf"), []byte(files), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cupsd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Start(t, bin, "-f", "-c", filepath.Join(dir, "cupsd.conf"), "-s", filepath.Join(dir, "cups-files.conf"))
	c := &Cupsd{t: t, Host: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if conn, err := net.Dial("tcp", c.Host); err == nil {
			conn.Close()
			return c
		}
		if p.Exited() || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "error_log"))
			t.Fatalf("cupsd did not start listening on %s:\n%s\n%s", c.Host, p.Output(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Run runs one of CUPS's command-line tools against this cupsd.
func (c *Cupsd) Run(tool string, args ...string) string {
	c.t.Helper()
	out, err := exec.Command(LookPath(c.t, tool), append([]string{"-h", c.Host}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}
