package cups

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/printq"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// Defaults.
const (
	DefaultPort       = 631
	DefaultStuckAfter = 10 * time.Minute
	defaultTimeout    = 5 * time.Second
	maxResponse       = 1 << 20 // a printer's attributes and a queue's jobs fit many times over
)

func init() {
	drivers.Register(drivers.Info{
		Name:        "cups",
		Description: "printers behind a CUPS queue (or any IPP printer): printer state and reasons, supplies, queue stopped or rejecting, stuck jobs",
		Kinds:       []string{"receipt_printer", "label_printer", "network_printer"},
		Schemes:     []string{"ipp"},
		Faults: []wire.FaultCode{
			wire.FaultPaperOut, wire.FaultPaperLow, wire.FaultPaperJam, wire.FaultCoverOpen,
			wire.FaultConsumableLow, wire.FaultConsumableOut, wire.FaultMaintenanceDue, wire.FaultHeadOverheat,
			wire.FaultOffline, wire.FaultBufferFull, wire.FaultQueueStopped, wire.FaultJobsStuck, wire.FaultUnknownDevice,
		},
		Options: []drivers.Option{
			{Name: "stuck_after", Type: drivers.OptionDuration, Default: "10m", Doc: "a job not completed after this long raises jobs_stuck; 0s never"},
		},
		New: func(s drivers.Spec) (drivers.Prober, error) { return New(s) },
	})
}

// Driver reads one queue.
type Driver struct {
	url        string // http://host:631/printers/name
	printerURI string // ipp://host:631/printers/name
	timeout    time.Duration
	stuckAfter time.Duration
	expected   *wire.Identity
	client     *http.Client
	reqID      atomic.Uint32
}

// New builds the driver. Address: ipp://localhost:631/printers/QUEUE.
// Options:
//
//	stuck_after  a job not completed after this long makes jobs_stuck (default 10m; 0s: never)
func New(s drivers.Spec) (*Driver, error) {
	o := s.Options
	d := &Driver{timeout: s.Timeout, stuckAfter: o.Duration("stuck_after", DefaultStuckAfter), expected: s.Expected}
	if d.stuckAfter < 0 {
		o.Fail("option stuck_after: %v; want 0s (never) or more", d.stuckAfter)
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	if s.Address.Scheme != "ipp" {
		return nil, fmt.Errorf("cups: the address is ipp://host:631/printers/QUEUE, not %s", s.Address)
	}
	if !strings.HasPrefix(s.Address.Path, "/") || len(s.Address.Path) < 2 {
		return nil, fmt.Errorf("cups: address %s names no queue (ipp://localhost:631/printers/QUEUE)", s.Address)
	}
	hp := s.Address.HostPort(DefaultPort)
	d.url = (&url.URL{Scheme: "http", Host: hp, Path: s.Address.Path}).String()
	d.printerURI = (&url.URL{Scheme: "ipp", Host: hp, Path: s.Address.Path}).String()
	if d.timeout <= 0 {
		d.timeout = defaultTimeout
	}
	// Local CUPS: no proxy, no keep-alive between probes a minute apart.
	d.client = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	return d, nil
}

// requested are the printer attributes a probe reads.
var requested = []string{
	"printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
	"printer-make-and-model", "printer-info", "device-uri", "printer-up-time", "printer-uuid",
	"marker-names", "marker-types", "marker-levels", "marker-low-levels", "queued-job-count",
}

// printer-state values.
const (
	stateIdle       = 3
	stateProcessing = 4
	stateStopped    = 5
)

var jobStates = map[int]string{3: "pending", 4: "held", 5: "processing", 6: "stopped"}

// Probe reads the queue's attributes and its unfinished jobs.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := time.Now()
	pa, err := d.call(ctx, OpGetPrinterAttributes, keywords("requested-attributes", requested...))
	if err != nil {
		return drivers.Reading{}, err
	}
	p := printerGroup(pa)
	q := printq.Queue{
		Stopped:   p.Get("printer-state").Int(stateIdle) == stateStopped,
		Accepting: p.Get("printer-is-accepting-jobs").Int(1) == 1,
		Reasons:   p.Get("printer-state-reasons").Texts(),
		Message:   p.Get("printer-state-message").Text(),
		Markers:   markers(p),
	}
	if d.stuckAfter > 0 {
		jobs, err := d.call(ctx, OpGetJobs, keyword("which-jobs", "not-completed"),
			keywords("requested-attributes", "job-id", "job-state", "time-at-creation"))
		if err != nil {
			return drivers.Reading{}, err
		}
		now := p.Get("printer-up-time").Int(int(time.Now().Unix()))
		for _, g := range jobs.JobGroups() {
			created := g.Get("time-at-creation").Int(now)
			q.Jobs = append(q.Jobs, printq.Job{ID: g.Get("job-id").Int(0), State: jobStates[g.Get("job-state").Int(0)],
				Age: time.Duration(max(0, now-created)) * time.Second})
		}
	}
	r := drivers.Reading{
		Faults:       q.Faults(d.stuckAfter),
		Measurements: map[string]float64{"rtt_ms": float64(time.Since(start).Microseconds()) / 1000, "queued_jobs": float64(len(q.Jobs))},
		Detail:       describe(p, q),
	}
	if id := identity(p); !id.IsZero() {
		r.Identity = &id
		if f, bad := drivers.IdentityMismatch(d.expected, id); bad {
			r.Faults = append(r.Faults, f)
		}
	}
	return r, nil
}

// Identify reads make, model and device URI.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	pa, err := d.call(ctx, OpGetPrinterAttributes, keywords("requested-attributes", "printer-make-and-model", "printer-info", "device-uri", "printer-uuid"))
	if err != nil {
		return wire.Identity{}, err
	}
	return identity(printerGroup(pa)), nil
}

// call sends one IPP request and returns a successful response.
func (d *Driver) call(ctx context.Context, op uint16, attrs ...Attribute) (*Message, error) {
	req := Message{Version: [2]byte{2, 0}, Code: op, RequestID: d.reqID.Add(1), Groups: []Group{{Tag: tagOperation, Attrs: append([]Attribute{
		{Name: "attributes-charset", Values: []Value{{Tag: TagCharset, Text: "utf-8"}}},
		{Name: "attributes-natural-language", Values: []Value{{Tag: TagLanguage, Text: "en"}}},
		{Name: "printer-uri", Values: []Value{{Tag: TagURI, Text: d.printerURI}}},
		{Name: "requesting-user-name", Values: []Value{{Tag: TagName, Text: "storewatch"}}},
	}, attrs...)}}}
	body, err := req.Encode()
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/ipp")
	resp, err := d.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("cups %s: %w", d.printerURI, transport.Timeout(ctx, err))
		}
		return nil, fmt.Errorf("cups %s: %w: %w", d.printerURI, transport.ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cups %s: %w: HTTP %s", d.printerURI, transport.ErrUnreachable, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("cups %s: %w", d.printerURI, transport.Timeout(ctx, err))
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("cups %s: %w", d.printerURI, drivers.ProtocolError("response larger than %d bytes", maxResponse))
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("cups %s: %w: %w", d.printerURI, drivers.ErrProtocol, err)
	}
	if m.RequestID != req.RequestID {
		return nil, fmt.Errorf("cups %s: %w", d.printerURI, drivers.ProtocolError("answer to request %d, asked %d", m.RequestID, req.RequestID))
	}
	if m.Code > 0x00FF {
		msg := m.Get(tagOperation, "status-message").Text()
		if m.Code == 0x0406 { // client-error-not-found: the queue is gone
			return nil, fmt.Errorf("cups %s: %w: no such queue (%s)", d.printerURI, transport.ErrUnreachable, msg)
		}
		return nil, fmt.Errorf("cups %s: %w", d.printerURI, drivers.ProtocolError("IPP status 0x%04X %s", m.Code, msg))
	}
	return m, nil
}

func keyword(name string, v string) Attribute { return keywords(name, v) }

func keywords(name string, vs ...string) Attribute {
	a := Attribute{Name: name}
	for _, v := range vs {
		a.Values = append(a.Values, Value{Tag: TagKeyword, Text: v})
	}
	return a
}

func printerGroup(m *Message) Group {
	for _, g := range m.Groups {
		if g.Tag == tagPrinter {
			return g
		}
	}
	return Group{}
}

func markers(p Group) []printq.Marker {
	names, types := p.Get("marker-names").Texts(), p.Get("marker-types").Texts()
	levels, lows := p.Get("marker-levels").Ints(), p.Get("marker-low-levels").Ints()
	out := make([]printq.Marker, len(levels))
	for i, l := range levels {
		out[i] = printq.Marker{Level: l}
		if i < len(names) {
			out[i].Name = names[i]
		}
		if i < len(types) {
			out[i].Type = types[i]
		}
		if i < len(lows) {
			out[i].Low = lows[i]
		}
	}
	return out
}

// identity: CUPS's make-and-model ("EPSON TM-T88V", or the PPD's nickname)
// gives vendor and model; the usb backend's device URI
// (usb://EPSON/TM-T88V?serial=X5E1234567) carries the serial number.
func identity(p Group) wire.Identity {
	var id wire.Identity
	mm := strings.TrimSpace(p.Get("printer-make-and-model").Text())
	if vendor, model, ok := strings.Cut(mm, " "); ok {
		id.Vendor, id.Model = vendor, strings.TrimSpace(model)
	} else {
		id.Model = mm
	}
	extra := map[string]string{}
	if uri := p.Get("device-uri").Text(); uri != "" {
		extra["device_uri"] = redactURI(uri)
		if u, err := url.Parse(uri); err == nil {
			if s := u.Query().Get("serial"); s != "" {
				id.Serial = s
			}
			if u.Scheme == "usb" && u.Host != "" && id.Vendor == "" {
				id.Vendor, _ = url.PathUnescape(u.Host)
			}
		}
	}
	if info := p.Get("printer-info").Text(); info != "" {
		extra["printer_info"] = info
	}
	if len(extra) > 0 {
		id.Extra = extra
	}
	return id
}

// redactURI drops a password from a device URI (smb://user:pass@host/q).
func redactURI(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

func describe(p Group, q printq.Queue) string {
	state := map[int]string{stateIdle: "idle", stateProcessing: "processing", stateStopped: "stopped"}[p.Get("printer-state").Int(0)]
	if state == "" {
		state = "state unknown"
	}
	s := fmt.Sprintf("queue %s, reasons %s, %d unfinished jobs", state, strings.Join(q.Reasons, ","), len(q.Jobs))
	if !q.Accepting {
		s += ", rejecting jobs"
	}
	if q.Message != "" {
		s += ": " + q.Message
	}
	return s
}
