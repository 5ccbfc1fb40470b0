package netprobe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

func newProbe(t *testing.T, addr string, opts map[string]string) drivers.Prober {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := drivers.New("netprobe", drivers.Spec{ID: "d", Address: a, Options: drivers.NewOptions(opts)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func probeOnce(p drivers.Prober, timeout time.Duration) (drivers.Reading, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Probe(ctx)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func faultOf(err error) wire.FaultCode {
	if err == nil {
		return ""
	}
	return drivers.FaultFor(err).Code
}

func TestTCP(t *testing.T) {
	addr := testenv.ServeTCP(t, nil)
	r, err := probeOnce(newProbe(t, "tcp://"+addr, nil), 2*time.Second)
	if err != nil || len(r.Faults) != 0 || r.Measurements["rtt_ms"] <= 0 {
		t.Errorf("listening port: %+v, %v", r, err)
	}
	_, err = probeOnce(newProbe(t, "tcp://"+closedPort(t), nil), 2*time.Second)
	if faultOf(err) != wire.FaultUnreachable {
		t.Errorf("closed port: %v, want unreachable", err)
	}
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("status: healthy"))
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/hang":
			<-r.Context().Done()
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	}))
	defer srv.Close()
	base := srv.URL
	cases := []struct {
		name string
		url  string
		opts map[string]string
		want wire.FaultCode
	}{
		{"healthy", base + "/ok", nil, ""},
		{"body matches", base + "/ok", map[string]string{"expect_body": "healthy"}, ""},
		{"body differs", base + "/ok", map[string]string{"expect_body": "ready"}, wire.FaultNoResponse},
		{"503", base + "/down", nil, wire.FaultNoResponse},
		{"503 expected", base + "/down", map[string]string{"expect_status": "503"}, ""},
		{"class match", base + "/ok", map[string]string{"expect_status": "2xx"}, ""},
		{"redirect not followed", base + "/moved", map[string]string{"expect_status": "302"}, ""},
		{"hangs", base + "/hang", nil, wire.FaultNoResponse},
		{"nothing listens", "http://" + closedPort(t) + "/", nil, wire.FaultUnreachable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := probeOnce(newProbe(t, c.url, c.opts), 300*time.Millisecond)
			if got := faultOf(err); got != c.want {
				t.Errorf("fault = %q (%v), want %q", got, err, c.want)
			}
		})
	}
}

func TestICMPAndFallback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	open := ln.Addr().(*net.TCPAddr).Port
	_, closedStr, _ := net.SplitHostPort(closedPort(t))

	// ICMP itself needs a ping socket or root; where neither is allowed the
	// auto method falls back to TCP, so loopback is reachable either way.
	if _, err := probeOnce(newProbe(t, "icmp://127.0.0.1", nil), 2*time.Second); err != nil {
		t.Errorf("loopback by icmp/auto: %v", err)
	}
	for _, ports := range []string{itoa(open), closedStr} {
		r, err := probeOnce(newProbe(t, "icmp://127.0.0.1", map[string]string{"method": "tcp", "fallback_ports": ports}), 2*time.Second)
		if err != nil {
			t.Errorf("tcp fallback on port %s: %v", ports, err)
		}
		if !strings.Contains(r.Detail, "127.0.0.1") {
			t.Errorf("detail = %q", r.Detail)
		}
	}
	// A host that drops packets: connects hang until the timeout. (A fake
	// dialer, because what a real network does with packets to an unused
	// address depends on the machine's routes and firewall.)
	silent := newProbe(t, "icmp://10.9.9.9", map[string]string{"method": "tcp", "fallback_ports": "445,22"}).(*probe)
	silent.dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	_, err = probeOnce(silent, 100*time.Millisecond)
	if faultOf(err) != wire.FaultUnreachable {
		t.Errorf("silent host: %v, want unreachable", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestOptionsAreChecked(t *testing.T) {
	cases := []struct {
		addr string
		opts map[string]string
		want string
	}{
		{"http://h/", map[string]string{"expect_status": "ok"}, "expect_status"},
		{"http://h/", map[string]string{"expect_stauts": "200"}, "expect_stauts: not known"},
		{"icmp://h", map[string]string{"fallback_ports": "22,x"}, "fallback_ports"},
		{"icmp://h", map[string]string{"method": "udp"}, "method"},
		{"tcp://h", nil, "needs a port"},
	}
	for _, c := range cases {
		a, _ := transport.Parse(c.addr)
		_, err := drivers.New("netprobe", drivers.Spec{Address: a, Options: drivers.NewOptions(c.opts)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err = %v, want it to mention %q", c.addr, c.opts, err, c.want)
		}
	}
	a, _ := transport.Parse("serial:///dev/ttyS0")
	if _, err := drivers.New("netprobe", drivers.Spec{Address: a}); err == nil {
		t.Error("netprobe accepted a serial address")
	}
}

func TestStatusMatcher(t *testing.T) {
	m, err := statusMatcher("200, 3xx")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{200: true, 201: false, 301: true, 399: true, 404: false} {
		if m(code) != want {
			t.Errorf("match(%d) = %v", code, !want)
		}
	}
	for _, bad := range []string{"", "abc", "99", "600", "6xx", "2x"} {
		if _, err := statusMatcher(bad); err == nil {
			t.Errorf("statusMatcher(%q) accepted", bad)
		}
	}
}

func FuzzStatusMatcher(f *testing.F) {
	for _, s := range []string{"200", "2xx", "200,204", "", "5xx, 404"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		m, err := statusMatcher(spec)
		if err != nil {
			return
		}
		for c := 100; c < 600; c += 37 {
			m(c)
		}
	})
}
