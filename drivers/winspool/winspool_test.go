package winspool

import (
	"bufio"
	"context"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

var now = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// statusCase is one line of testdata/status.txt.
type statusCase struct {
	name    string
	printer Printer
	jobs    []Job
	faults  string
}

func readStatusCases(t testing.TB) []statusCase {
	t.Helper()
	f, err := os.Open("testdata/status.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hex := func(s string) uint32 {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 0, 32)
		if err != nil {
			t.Fatalf("status.txt: %q: %v", s, err)
		}
		return uint32(n)
	}
	var cases []statusCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 5 {
			t.Fatalf("status.txt: %q has %d fields", line, len(f))
		}
		c := statusCase{name: strings.TrimSpace(f[0]), faults: strings.TrimSpace(f[4]),
			printer: Printer{Name: "Receipt", Port: "USB001", Driver: "EPSON TM-T88V Receipt", Status: hex(f[1]), Attributes: hex(f[2])}}
		if jobs := strings.TrimSpace(f[3]); jobs != "-" {
			for i, j := range strings.Split(jobs, ",") {
				st, age, _ := strings.Cut(j, "@")
				d, err := time.ParseDuration(age)
				if err != nil {
					t.Fatalf("status.txt: job %q: %v", j, err)
				}
				c.jobs = append(c.jobs, Job{ID: uint32(i + 1), Status: hex(st), Submitted: now.Add(-d)})
			}
		}
		cases = append(cases, c)
	}
	return cases
}

func codes(fs []wire.Fault) string {
	var cs []string
	for _, f := range fs {
		cs = append(cs, string(f.Code))
	}
	sort.Strings(cs)
	if len(cs) == 0 {
		return "-"
	}
	return strings.Join(cs, ",")
}

// The status words of testdata/status.txt give the faults it lists.
func TestStatusWords(t *testing.T) {
	for _, c := range readStatusCases(t) {
		t.Run(c.name, func(t *testing.T) {
			q := queueOf(c.printer, c.jobs, now)
			if got := codes(q.Faults(DefaultStuckAfter)); got != c.faults {
				t.Errorf("status 0x%08x attributes 0x%08x jobs %v: faults %s, want %s (queue %+v)",
					c.printer.Status, c.printer.Attributes, c.jobs, got, c.faults, q)
			}
		})
	}
}

// fakeSpooler stands in for winspool.drv with what it would answer.
type fakeSpooler struct {
	p     Printer
	jobs  []Job
	err   error
	block chan struct{}
}

func (f *fakeSpooler) Printer(name string) (Printer, []Job, error) {
	if f.block != nil {
		<-f.block
	}
	if f.err != nil {
		return Printer{}, nil, f.err
	}
	if !strings.EqualFold(name, f.p.Name) {
		return Printer{}, nil, unreachable("%v; the spooler has: %q", errNoPrinter, f.p.Name)
	}
	return f.p, f.jobs, nil
}

func driver(t *testing.T, addr string, sp spooler, opts map[string]string, expected *wire.Identity) *Driver {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDriver(drivers.Spec{ID: "receipt-1", Kind: "receipt_printer", Address: a, Timeout: 200 * time.Millisecond,
		Options: drivers.NewOptions(opts), Expected: expected}, sp)
	if err != nil {
		t.Fatal(err)
	}
	d.now = func() time.Time { return now }
	return d
}

// A probe says what the spooler says: state, faults, identity, in a line.
func TestProbe(t *testing.T) {
	sp := &fakeSpooler{p: Printer{Name: "EPSON TM-T88V Receipt", Port: "USB001", Driver: "EPSON TM-T88V Receipt", Status: 0x00000012},
		jobs: []Job{{ID: 7, Status: 0x00000042, StatusText: "Paper out", Submitted: now.Add(-3 * time.Minute)}}}
	d := driver(t, "winspool:EPSON TM-T88V Receipt", sp, nil, &wire.Identity{Model: "TM-T20III Receipt"})
	r, err := d.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := codes(r.Faults); got != "paper_out,unknown_device" {
		t.Errorf("faults %s", got)
	}
	if r.Identity == nil || r.Identity.Vendor != "EPSON" || r.Identity.Model != "TM-T88V Receipt" || r.Identity.Extra["port"] != "USB001" {
		t.Errorf("identity %+v", r.Identity)
	}
	if want := `printer "EPSON TM-T88V Receipt" on USB001: error, paper out, 1 unfinished jobs: Paper out`; r.Detail != want {
		t.Errorf("detail %q, want %q", r.Detail, want)
	}
	if r.Measurements["queued_jobs"] != 1 {
		t.Errorf("measurements %v", r.Measurements)
	}
	// Jobs that cannot be listed leave the printer's status standing.
	sp.p.JobsUnread = "EnumJobs failed without an error code"
	r, _ = d.Probe(context.Background())
	if got := codes(r.Faults); got != "paper_out,unknown_device" || !strings.HasSuffix(r.Detail, "; jobs not read: EnumJobs failed without an error code") {
		t.Errorf("jobs unread: faults %s, detail %q", got, r.Detail)
	}
	sp.p.JobsUnread = ""
	// stuck_after 0s never calls a job stuck.
	sp.p.Status, sp.jobs[0].Status, sp.jobs[0].Submitted = 0, 0, now.Add(-time.Hour)
	r, _ = driver(t, "winspool:EPSON TM-T88V Receipt", sp, map[string]string{"stuck_after": "0s"}, nil).Probe(context.Background())
	if got := codes(r.Faults); got != "-" {
		t.Errorf("stuck_after 0s: faults %s", got)
	}
}

// A printer the spooler does not know, or no spooler, is unreachable and
// says what is there; a spooler that hangs is no answer at the timeout.
func TestProbeErrors(t *testing.T) {
	sp := &fakeSpooler{p: Printer{Name: "Receipt"}}
	_, err := driver(t, "winspool:Reciept", sp, nil, nil).Probe(context.Background())
	if !errors.Is(err, transport.ErrUnreachable) || !strings.Contains(err.Error(), `the spooler has: "Receipt"`) {
		t.Errorf("mistyped printer: %v", err)
	}
	if f := drivers.FaultFor(err); f.Code != wire.FaultUnreachable {
		t.Errorf("fault %s", f.Code)
	}
	sp.err = unreachable("the print spooler service is not running")
	if _, err := driver(t, "winspool:Receipt", sp, nil, nil).Probe(context.Background()); !errors.Is(err, transport.ErrUnreachable) {
		t.Errorf("spooler down: %v", err)
	}
	hang := &fakeSpooler{p: Printer{Name: "Receipt"}, block: make(chan struct{})}
	defer close(hang.block)
	_, err = driver(t, "winspool:Receipt", hang, nil, nil).Probe(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || drivers.FaultFor(err).Code != wire.FaultNoResponse {
		t.Errorf("hung spooler: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct {
		addr string
		opts map[string]string
		sp   spooler
		says string
	}{
		{"tcp://10.0.0.5:9100", nil, &fakeSpooler{}, "winspool:PRINTER NAME"},
		{"winspool:Receipt", map[string]string{"stuck_after": "-1m"}, &fakeSpooler{}, "stuck_after"},
		{"winspool:Receipt", nil, nil, "only on Windows"},
	} {
		a, _ := transport.Parse(c.addr)
		_, err := newDriver(drivers.Spec{Address: a, Options: drivers.NewOptions(c.opts)}, c.sp)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s %v: %v, want %q", c.addr, c.opts, err, c.says)
		}
	}
}

// Whatever the status words, the faults are from the vocabulary and the
// detail names every bit.
func FuzzQueueOf(f *testing.F) {
	for _, c := range readStatusCases(f) {
		var js, age uint32
		if len(c.jobs) > 0 {
			js, age = c.jobs[0].Status, uint32(now.Sub(c.jobs[0].Submitted)/time.Second)
		}
		f.Add(c.printer.Status, c.printer.Attributes, js, age)
	}
	f.Fuzz(func(t *testing.T, status, attrs, jobStatus, ageSeconds uint32) {
		p := Printer{Name: "P", Status: status, Attributes: attrs}
		jobs := []Job{{ID: 1, Status: jobStatus, Submitted: now.Add(-time.Duration(ageSeconds) * time.Second)}}
		q := queueOf(p, jobs, now)
		for _, fl := range q.Faults(DefaultStuckAfter) {
			if !fl.Code.Known() {
				t.Errorf("unknown fault %s", fl.Code)
			}
		}
		if d := describe(p, q); status != 0 && strings.Contains(d, ": ready,") {
			t.Errorf("status 0x%x described as ready: %s", status, d)
		}
	})
}
