package cups_test

import (
	"context"
	"errors"
	"io"
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
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// driver is the cups driver for a queue of c.
func driver(t *testing.T, c *testenv.Cupsd, queue string, options map[string]string) *cups.Driver {
	t.Helper()
	a, err := transport.Parse("ipp://" + c.Host + "/printers/" + queue)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cups.New(drivers.Spec{ID: queue, Kind: "receipt_printer", Address: a, Timeout: 5 * time.Second, Options: drivers.NewOptions(options)})
	if err != nil {
		t.Fatal(err)
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
	c := testenv.StartCupsd(t)
	rec := &recording{dev: devescpos.New()}
	printer, err := devsim.ServeTCP(context.Background(), rec, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer printer.Close()
	ppd, _ := filepath.Abs("testdata/tm-t88vi.ppd")
	c.Run("lpadmin", "-p", "lane3", "-E", "-v", "socket://"+printer.Addr, "-P", ppd, "-D", "receipt lane 3")
	d := driver(t, c, "lane3", map[string]string{"stuck_after": "1s"})

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
		c.Run("lp", "-d", "lane3", "-o", "raw", filepath.Join("testdata", "receipt.bin"))
		until(t, d, "")
		for end := time.Now().Add(30 * time.Second); !strings.Contains(rec.String(), "Total 12.34") && time.Now().Before(end); {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(rec.String(), "Lane 3 receipt\nTotal 12.34") {
			t.Errorf("the printer received %q", rec.String())
		}
	})
	t.Run("paused queue", func(t *testing.T) {
		c.Run("cupsdisable", "-r", "closing lane", "lane3")
		until(t, d, "queue_stopped", "paused")
	})
	t.Run("jobs stuck behind the paused queue", func(t *testing.T) {
		c.Run("lp", "-d", "lane3", "-o", "raw", filepath.Join("testdata", "receipt.bin"))
		until(t, d, "jobs_stuck,queue_stopped", "pending for", "limit 1s")
		c.Run("cupsenable", "lane3")
		until(t, d, "") // the job prints; nothing left
	})
	t.Run("queue rejecting jobs", func(t *testing.T) {
		c.Run("cupsreject", "lane3")
		until(t, d, "queue_stopped", "rejecting new jobs")
		c.Run("cupsaccept", "lane3")
		until(t, d, "")
	})
	t.Run("printer switched off", func(t *testing.T) {
		printer.Close()
		c.Run("lp", "-d", "lane3", "-o", "raw", filepath.Join("testdata", "receipt.bin"))
		// CUPS keeps the job and retries; its message says why.
		until(t, d, "jobs_stuck", "processing", "unavailable")
	})
	t.Run("queue deleted", func(t *testing.T) {
		_, err := driver(t, c, "nosuchqueue", nil).Probe(context.Background())
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
