package cups_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	devescpos "github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/cups"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testenv"
	"github.com/storewatch/storewatch/wire"
)

// cupsd is a real Debian cupsd started for one test: its own configuration,
// spool, cache, state and logs in a temporary directory, listening on a free
// loopback port only (no domain socket, no printcap, no DNS-SD), stopped by
// pid when the test ends.
type cupsd struct {
	t    *testing.T
	host string // 127.0.0.1:port
	dir  string
}

func startCupsd(t *testing.T) *cupsd {
	t.Helper()
	bin := testenv.LookPath(t, "cupsd")
	for _, tool := range []string{"lpadmin", "cupsdisable", "cupsenable", "cupsreject", "cupsaccept", "lp"} {
		testenv.LookPath(t, tool)
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
	port := testenv.FreePort(t)
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
	p := testenv.Start(t, bin, "-f", "-c", filepath.Join(dir, "cupsd.conf"), "-s", filepath.Join(dir, "cups-files.conf"))
	c := &cupsd{t: t, host: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if conn, err := net.Dial("tcp", c.host); err == nil {
			conn.Close()
			return c
		}
		if p.Exited() || time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "error_log"))
			t.Fatalf("cupsd did not start listening on %s:\n%s\n%s", c.host, p.Output(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs one of CUPS's command-line tools against this cupsd.
func (c *cupsd) run(tool string, args ...string) string {
	c.t.Helper()
	out, err := exec.Command(testenv.LookPath(c.t, tool), append([]string{"-h", c.host}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *cupsd) driver(queue string, options map[string]string) *cups.Driver {
	c.t.Helper()
	a, err := transport.Parse("ipp://" + c.host + "/printers/" + queue)
	if err != nil {
		c.t.Fatal(err)
	}
	d, err := cups.New(drivers.Spec{ID: queue, Kind: "receipt_printer", Address: a, Timeout: 5 * time.Second, Options: drivers.NewOptions(options)})
	if err != nil {
		c.t.Fatal(err)
	}
	return d
}

func codes(fs []wire.Fault) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Code))
	}
	return strings.Join(out, ",")
}

// until probes until the reading's fault codes are want and its fault
// details say each of says, or fails after a generous bound: cupsd and its
// backends act on their own schedule.
func until(t *testing.T, d *cups.Driver, want string, says ...string) drivers.Reading {
	t.Helper()
	var r drivers.Reading
	var err error
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		r, err = d.Probe(context.Background())
		if err == nil && codes(r.Faults) == want && detailsSay(r, says) {
			return r
		}
	}
	t.Fatalf("faults never became %q saying %q; last reading %+v, %v", want, says, r, err)
	return r
}

func detailsSay(r drivers.Reading, says []string) bool {
	var all strings.Builder
	for _, f := range r.Faults {
		all.WriteString(f.Detail + "\n")
	}
	for _, s := range says {
		if !strings.Contains(all.String(), s) {
			return false
		}
	}
	return true
}

// A receipt printer behind a real CUPS queue (socket backend to the ESC/POS
// emulator on TCP): healthy, paused, rejecting, jobs stuck, printer gone.
func TestCupsQueueStates(t *testing.T) {
	c := startCupsd(t)
	rec := &recording{dev: devescpos.New()}
	printer, err := devsim.ServeTCP(context.Background(), rec, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer printer.Close()
	ppd, _ := filepath.Abs("testdata/tm-t88vi.ppd")
	c.run("lpadmin", "-p", "lane3", "-E", "-v", "socket://"+printer.Addr, "-P", ppd, "-D", "receipt lane 3")
	d := c.driver("lane3", map[string]string{"stuck_after": "1s"})

	t.Run("healthy, with identity", func(t *testing.T) {
		r := until(t, d, "")
		if r.Identity == nil || r.Identity.Vendor != "EPSON" || r.Identity.Model != "TM-T88VI" ||
			r.Identity.Extra["device_uri"] != "socket://"+printer.Addr || r.Identity.Extra["printer_info"] != "receipt lane 3" {
			t.Errorf("identity = %+v", r.Identity)
		}
		if !strings.Contains(r.Detail, "queue idle") {
			t.Errorf("detail = %q", r.Detail)
		}
	})
	t.Run("a receipt prints through the queue", func(t *testing.T) {
		c.run("lp", "-d", "lane3", "-o", "raw", filepath.Join("testdata", "receipt.bin"))
		until(t, d, "")
		for end := time.Now().Add(30 * time.Second); !strings.Contains(rec.String(), "Total 12.34") && time.Now().Before(end); {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(rec.String(), "Lane 3 receipt\nTotal 12.34") {
			t.Errorf("the printer received %q", rec.String())
		}
	})
	t.Run("paused queue", func(t *testing.T) {
		c.run("cupsdisable", "-r", "closing lane", "lane3")
		until(t, d, "queue_stopped", "paused")
	})
	t.Run("jobs stuck behind the paused queue", func(t *testing.T) {
		c.run("lp", "-d", "lane3", "-o", "raw", filepath.Join("testdata", "receipt.bin"))
		until(t, d, "jobs_stuck,queue_stopped", "pending for", "limit 1s")
		c.run("cupsenable", "lane3")
		until(t, d, "") // the job prints; nothing left
	})
	t.Run("queue rejecting jobs", func(t *testing.T) {
		c.run("cupsreject", "lane3")
		until(t, d, "queue_stopped", "rejecting new jobs")
		c.run("cupsaccept", "lane3")
		until(t, d, "")
	})
	t.Run("printer switched off", func(t *testing.T) {
		printer.Close()
		c.run("lp", "-d", "lane3", "-o", "raw", filepath.Join("testdata", "receipt.bin"))
		// CUPS keeps the job and retries; its message says why.
		until(t, d, "jobs_stuck", "processing", "unavailable")
	})
	t.Run("queue deleted", func(t *testing.T) {
		_, err := c.driver("nosuchqueue", nil).Probe(context.Background())
		if !errors.Is(err, transport.ErrUnreachable) || !strings.Contains(err.Error(), "no such queue") {
			t.Errorf("err = %v", err)
		}
	})
}

// recording is a device that keeps every byte it was sent.
type recording struct {
	dev devsim.Device
	mu  sync.Mutex
	got []byte
}

func (r *recording) Serve(ctx context.Context, rw io.ReadWriter) error {
	return r.dev.Serve(ctx, struct {
		io.Reader
		io.Writer
	}{io.TeeReader(rw, r), rw})
}

func (r *recording) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, p...)
	return len(p), nil
}

func (r *recording) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.got)
}
