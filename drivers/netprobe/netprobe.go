package netprobe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

func init() {
	drivers.Register(drivers.Info{
		Name:        "netprobe",
		Description: "reachability: TCP connect, HTTP GET with expected status, ICMP echo with TCP fallback",
		Kinds:       []string{"pos_pc", "network_device", "payment_terminal", "network_printer", "other"},
		Schemes:     []string{"tcp", "http", "https", "icmp"},
		Faults:      []wire.FaultCode{wire.FaultUnreachable, wire.FaultNoResponse},
		Options: []drivers.Option{
			{Name: "expect_status", Type: drivers.OptionString, Default: "200", Doc: "http(s) only: HTTP statuses that count as healthy: 200, 2xx, 200,204"},
			{Name: "expect_body", Type: drivers.OptionString, Doc: "http(s) only: text the HTTP body must contain"},
			{Name: "insecure_tls", Type: drivers.OptionBool, Default: "false", Doc: "https only: accept any certificate (devices with self-signed certificates)"},
			{Name: "method", Type: drivers.OptionString, Default: "auto", Values: []string{"auto", "icmp", "tcp"}, Doc: "icmp only: icmp never falls back to TCP, tcp never tries ICMP"},
			{Name: "fallback_ports", Type: drivers.OptionString, Default: DefaultFallbackPorts, Doc: "icmp only: ports to try when ICMP is not permitted"},
		},
		New: New,
	})
}

// DefaultFallbackPorts are tried when ICMP is not permitted: SMB, RDP, SSH,
// HTTP. A refused connection proves the host is up as well as an accepted one.
const DefaultFallbackPorts = "445,3389,22,80"

// New builds a probe from a device spec.
func New(spec drivers.Spec) (drivers.Prober, error) {
	o := spec.Options
	p := &probe{addr: spec.Address, dial: (&net.Dialer{}).DialContext}
	switch spec.Address.Scheme {
	case "tcp":
		if _, _, err := net.SplitHostPort(spec.Address.Host); err != nil {
			o.Fail("address %s: a tcp probe needs a port, e.g. tcp://10.0.0.5:445", spec.Address)
		}
	case "http", "https":
		p.expect = o.String("expect_status", "200")
		if _, err := statusMatcher(p.expect); err != nil {
			o.Fail("option expect_status: %v", err)
		}
		p.body = o.String("expect_body", "")
		insecure := o.Bool("insecure_tls", false)
		p.client = &http.Client{
			Transport: &http.Transport{
				TLSClientConfig:   &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // opt-in for devices with self-signed certificates
				DisableKeepAlives: true,
				Proxy:             nil,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	case "icmp":
		p.fallback = o.String("fallback_ports", DefaultFallbackPorts)
		for _, s := range strings.Split(p.fallback, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(s)); err != nil || n < 1 || n > 65535 {
				o.Fail("option fallback_ports: %q is not a port", s)
			}
		}
		p.method = o.String("method", "auto")
		if p.method != "auto" && p.method != "icmp" && p.method != "tcp" {
			o.Fail("option method: %q (want auto, icmp or tcp)", p.method)
		}
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

type probe struct {
	addr     transport.Address
	expect   string
	body     string
	client   *http.Client
	fallback string
	method   string
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (p *probe) Probe(ctx context.Context) (drivers.Reading, error) {
	start := time.Now()
	var err error
	var detail string
	switch p.addr.Scheme {
	case "tcp":
		err = connect(ctx, p.addr)
		detail = "tcp connect " + p.addr.Host
	case "http", "https":
		detail, err = p.get(ctx)
	case "icmp":
		detail, err = p.ping(ctx)
	}
	if err != nil {
		return drivers.Reading{}, err
	}
	rtt := float64(time.Since(start).Microseconds()) / 1000
	return drivers.Reading{Detail: detail, Measurements: map[string]float64{"rtt_ms": rtt}}, nil
}

func connect(ctx context.Context, a transport.Address) error {
	// A refused or silent port is netprobe's answer, not a device busy
	// with another client.
	c, err := transport.Dial(ctx, a, transport.DialOptions{NoBusyCheck: true})
	if err != nil {
		return err
	}
	return c.Close()
}

func (p *probe) get(ctx context.Context) (string, error) {
	u := p.addr.Scheme + "://" + p.addr.Host + p.addr.Path
	if q := p.addr.Query.Encode(); q != "" {
		u += "?" + q
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "storewatch-agent")
	resp, err := p.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return "", fmt.Errorf("GET %s: %w", p.addr, err)
		}
		return "", fmt.Errorf("GET %s: %w: %w", p.addr, transport.ErrUnreachable, err)
	}
	defer resp.Body.Close()
	match, _ := statusMatcher(p.expect)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if !match(resp.StatusCode) {
		return "", drivers.ProtocolError("GET %s: HTTP %d, expected %s", p.addr, resp.StatusCode, p.expect)
	}
	if p.body != "" && !strings.Contains(string(body), p.body) {
		return "", drivers.ProtocolError("GET %s: HTTP %d but the body lacks %q", p.addr, resp.StatusCode, p.body)
	}
	return fmt.Sprintf("GET %s: HTTP %d", p.addr, resp.StatusCode), nil
}

// statusMatcher reads "200", "2xx" or "200,204".
func statusMatcher(spec string) (func(int) bool, error) {
	var checks []func(int) bool
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		switch {
		case len(part) == 3 && strings.HasSuffix(part, "xx") && part[0] >= '1' && part[0] <= '5':
			class := int(part[0]-'0') * 100
			checks = append(checks, func(c int) bool { return c >= class && c < class+100 })
		default:
			n, err := strconv.Atoi(part)
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("%q is not an HTTP status such as 200 or 2xx", part)
			}
			checks = append(checks, func(c int) bool { return c == n })
		}
	}
	return func(c int) bool {
		for _, f := range checks {
			if f(c) {
				return true
			}
		}
		return false
	}, nil
}

// ping sends an ICMP echo; where the agent may not (no privilege, or the
// method says so) it tries TCP connects to the fallback ports instead.
func (p *probe) ping(ctx context.Context) (string, error) {
	host := p.addr.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if p.method != "tcp" {
		err := echo(ctx, host)
		if err == nil {
			return "icmp echo " + host, nil
		}
		if !errors.Is(err, errICMPNotPermitted) || p.method == "icmp" {
			return "", err
		}
	}
	var last error
	for _, port := range strings.Split(p.fallback, ",") {
		hp := net.JoinHostPort(host, strings.TrimSpace(port))
		c, err := p.dial(ctx, "tcp", hp)
		if err == nil {
			c.Close()
			return "tcp connect " + hp, nil
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			// The host answered with a reset: it is up, the port is closed.
			return "tcp " + hp + " refused (host up)", nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return "", fmt.Errorf("%s: %w: no echo permitted and no answer on ports %s: %v", host, transport.ErrUnreachable, p.fallback, last)
}
