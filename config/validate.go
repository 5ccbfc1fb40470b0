package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Kinds are the device kinds the hub knows how to talk about.
var Kinds = []string{"receipt_printer", "label_printer", "network_printer", "scale", "scanner",
	"payment_terminal", "pos_pc", "network_device", "cash_drawer", "usb_device", "other"}

// HostDeviceID is the device id under which the store PC's own checks report.
const HostDeviceID = "host"

// CheckHostPort says what is wrong with a listen address (host:port, such as
// 127.0.0.1:8080 or :1883); an empty one is fine (no listener).
func CheckHostPort(addr string) error {
	if addr == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080 or :1883)", addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be a number up to 65535", addr)
	}
	return nil
}

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

var criticalities = []string{"low", "normal", "high", "critical"}

func (c *Agent) validate(l *Lines) Errors {
	var errs Errors
	bad := func(path, format string, args ...any) { errs = append(errs, l.Error(path, format, args...)) }

	for _, f := range []struct{ path, v string }{{"tenant", c.Tenant}, {"store", c.Store}, {"agent", c.ID}} {
		if f.v == "" {
			bad(f.path, "required")
		} else if err := wire.ValidateSegment(f.v); err != nil {
			bad(f.path, "%v", err)
		}
	}

	// The store.
	if c.Site.TimeZone == "" {
		bad("site.timezone", "required: the store's time zone, such as Europe/Berlin (trading hours and tickets use it)")
	} else if _, err := time.LoadLocation(c.Site.TimeZone); err != nil {
		bad("site.timezone", "%q is not a known time zone; use an IANA name such as Europe/Berlin", c.Site.TimeZone)
	}
	if c.Site.Country != "" && (len(c.Site.Country) != 2 || strings.ToUpper(c.Site.Country) != c.Site.Country) {
		bad("site.country", "%q: use the two-letter code, such as DE or GB", c.Site.Country)
	}
	if _, err := wire.ParseTradingHours(c.Site.Hours); err != nil {
		bad("site.hours", "%v", err)
	}

	// The broker.
	tlsURL := false
	for i, raw := range c.Broker.URLs {
		isTLS, problem := BrokerURLProblem(raw, "broker.username and broker.password")
		if problem != "" {
			bad(fmt.Sprintf("broker.urls[%d]", i), "%s", problem)
		}
		tlsURL = tlsURL || isTLS
	}
	if (c.Broker.Password != "" || c.Broker.PasswordFile != "") && c.Broker.Username == "" {
		bad("broker.password", "a password needs a broker.username")
	}
	if (c.Broker.CertFile == "") != (c.Broker.KeyFile == "") {
		bad("broker.cert_file", "a client certificate needs both cert_file and key_file")
	}
	if !tlsURL && len(c.Broker.URLs) > 0 && (c.Broker.CAFile != "" || c.Broker.CertFile != "") {
		bad("broker.ca_file", "certificates are given but no broker URL uses TLS (tls://host:8883)")
	}
	if c.Broker.KeepAlive < 5*time.Second || c.Broker.KeepAlive > 10*time.Minute {
		bad("broker.keepalive", "must be between 5s and 10m")
	}

	// The outbox.
	if c.Outbox.MaxBytes < 1<<20 {
		bad("outbox.max_bytes", "must be at least 1MiB")
	}
	if c.Outbox.KeepSent < 0 || c.Outbox.KeepSent > 100000 {
		bad("outbox.keep_sent", "must be 0 to 100000")
	}
	if c.Outbox.MaxAge < time.Minute {
		bad("outbox.max_age", "must be at least 1m")
	}

	// Polling defaults.
	if c.Polling.Interval < time.Second {
		bad("polling.interval", "must be at least 1s")
	}
	if c.Polling.Timeout < 100*time.Millisecond {
		bad("polling.timeout", "must be at least 100ms")
	}
	if c.Polling.BusyLimit < 0 {
		bad("polling.busy_limit", "must be 0s (never) or more")
	}
	if c.Polling.Debounce < 1 || c.Polling.Debounce > 10 {
		bad("polling.debounce", "must be between 1 and 10 readings")
	}
	if c.Polling.Grace < 0 {
		bad("polling.grace", "must not be negative")
	}
	if c.Telemetry.Interval < 5*time.Second {
		bad("telemetry.interval", "must be at least 5s")
	}

	// Devices.
	seen := map[string]int{}
	for i, d := range c.Devices {
		p := fmt.Sprintf("devices[%d]", i)
		if d.ID == "" {
			bad(p+".id", "required")
		} else if err := wire.ValidateSegment(d.ID); err != nil {
			bad(p+".id", "%v", err)
		} else if j, dup := seen[d.ID]; dup {
			bad(p+".id", "%q is already used by devices[%d]", d.ID, j)
		} else if d.ID == HostDeviceID && c.Host != nil {
			bad(p+".id", "%q is reserved for the host checks", d.ID)
		} else {
			seen[d.ID] = i
		}
		if d.Kind == "" {
			bad(p+".kind", "required (one of %s)", strings.Join(Kinds, ", "))
		} else if !oneOf(d.Kind, Kinds) {
			bad(p+".kind", "unknown kind %q (one of %s)", d.Kind, strings.Join(Kinds, ", "))
		}
		if d.Driver == "" {
			bad(p+".driver", "required: the protocol driver, such as escpos, zpl, sics or netprobe")
		}
		if d.Address == "" {
			bad(p+".address", "required: where the device is, such as tcp://10.0.0.5:9100 or serial:///dev/ttyUSB0")
		}
		if d.Interval < time.Second {
			bad(p+".interval", "must be at least 1s")
		}
		if d.Timeout < 100*time.Millisecond {
			bad(p+".timeout", "must be at least 100ms")
		} else if d.Timeout > d.Interval {
			bad(p+".timeout", "%v is longer than the interval %v", d.Timeout, d.Interval)
		}
		if d.Debounce < 1 || d.Debounce > 10 {
			bad(p+".debounce", "must be between 1 and 10 readings")
		}
		if d.BusyLimit < 0 {
			bad(p+".busy_limit", "must be 0s (never) or more")
		} else if d.BusyLimit > 0 && d.BusyLimit < d.Interval {
			bad(p+".busy_limit", "%v is shorter than the interval %v; use 0s to never report a busy device", d.BusyLimit, d.Interval)
		}
		if t := d.Tap; t != nil {
			if t.VirtualPort == "" {
				bad(p+".tap.virtual_port", "required: the port the POS application opens instead, e.g. /dev/ttyPOS0")
			}
			if !strings.HasPrefix(strings.ToLower(d.Address), "serial:") {
				bad(p+".tap", "a tap sits on a serial line; the address is %s", d.Address)
			}
			if t.IdleGap < time.Millisecond || t.IdleGap > 10*time.Second {
				bad(p+".tap.idle_gap", "must be between 1ms and 10s")
			}
			if t.ReplyWait < t.IdleGap || t.ReplyWait > time.Minute {
				bad(p+".tap.reply_wait", "must be at least the idle gap and at most 1m")
			}
		}
		if !oneOf(d.Criticality, criticalities) {
			bad(p+".criticality", "unknown criticality %q (low, normal, high or critical)", d.Criticality)
		}
	}

	// The store PC.
	if h := c.Host; h != nil {
		if h.Interval < 5*time.Second {
			bad("host.interval", "must be at least 5s")
		}
		for i, d := range h.Disks {
			p := fmt.Sprintf("host.disks[%d]", i)
			if d.Path == "" {
				bad(p+".path", "required")
			}
			if d.MinFreePercent <= 0 || d.MinFreePercent >= 100 {
				bad(p+".min_free_percent", "must be between 0 and 100")
			}
		}
		if h.MinMemAvailPct < 0 || h.MinMemAvailPct >= 100 {
			bad("host.min_memory_available_percent", "must be between 0 and 100")
		}
		for i, name := range h.Processes {
			if strings.TrimSpace(name) == "" {
				bad(fmt.Sprintf("host.processes[%d]", i), "empty process name")
			}
		}
		if !oneOf(h.Criticality, criticalities) {
			bad("host.criticality", "unknown criticality %q (low, normal, high or critical)", h.Criticality)
		}
	}

	c.Discovery.validate(bad)

	if !oneOf(c.Log.Level, []string{"debug", "info", "warn", "error"}) {
		bad("log.level", "unknown level %q (debug, info, warn or error)", c.Log.Level)
	}
	if !oneOf(c.Log.Format, []string{"text", "json"}) {
		bad("log.format", "unknown format %q (text or json)", c.Log.Format)
	}
	if c.Log.MaxBytes < 64<<10 {
		bad("log.max_bytes", "must be at least 64KiB")
	}
	if c.Log.MaxFiles < 1 || c.Log.MaxFiles > 100 {
		bad("log.max_files", "must be between 1 and 100")
	}
	if k := c.Remote.HubPublicKey; k != "" {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
			bad("remote.hub_public_key", "must be a base64 Ed25519 public key (32 bytes), as printed by storehub keys")
		}
	}
	return errs
}

// BrokerURLProblem checks one MQTT broker URL and says whether it is a TLS
// one; credentials names the settings to use instead of credentials in the
// URL.
func BrokerURLProblem(raw, credentials string) (isTLS bool, problem string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return false, fmt.Sprintf("%q is not a broker URL such as tls://hub.example.com:8883", raw)
	case !oneOf(u.Scheme, []string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}):
		return false, fmt.Sprintf("unknown scheme %q (use tls://, ssl://, tcp://, ws:// or wss://)", u.Scheme)
	case u.Port() == "":
		return false, fmt.Sprintf("%q has no port (1883 for tcp, 8883 for tls)", raw)
	}
	isTLS = oneOf(u.Scheme, []string{"ssl", "tls", "mqtts", "wss"})
	if u.User != nil {
		return isTLS, "do not put credentials in the URL; use " + credentials
	}
	return isTLS, ""
}

// Redacted returns a copy safe to print or log: secrets are replaced.
func (c *Agent) Redacted() Agent {
	out := *c
	if out.Broker.Password != "" {
		out.Broker.Password = "REDACTED"
	}
	out.Devices = make([]Device, len(c.Devices))
	for i, d := range c.Devices {
		if len(d.Options) > 0 {
			opts := make(map[string]string, len(d.Options))
			for k, v := range d.Options {
				if IsSecretOption(k) {
					v = "REDACTED"
				}
				opts[k] = v
			}
			d.Options = opts
		}
		out.Devices[i] = d
	}
	return out
}

// IsSecretOption reports whether a driver option holds a secret by its name.
func IsSecretOption(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"password", "pass", "community", "secret", "token", "key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func (d *Discovery) validate(bad func(path, format string, args ...any)) {
	if len(d.Networks) > MaxScanNetworks {
		bad("discovery.networks", "%d networks, at most %d", len(d.Networks), MaxScanNetworks)
	}
	for i, n := range d.Networks {
		if _, err := ParseScanNetwork(n); err != nil {
			bad(fmt.Sprintf("discovery.networks[%d]", i), "%v", err)
		}
	}
	if len(d.Networks) > 0 && len(d.Ports) == 0 {
		bad("discovery.ports", "a network scan needs ports to try, such as 9100 (leave ports out for the default ones)")
	}
	if len(d.Ports) > MaxScanPorts {
		bad("discovery.ports", "%d ports, at most %d", len(d.Ports), MaxScanPorts)
	}
	seen := map[int]bool{}
	for i, p := range d.Ports {
		if p < 1 || p > 65535 {
			bad(fmt.Sprintf("discovery.ports[%d]", i), "%d is not a TCP port (1 to 65535)", p)
		} else if seen[p] {
			bad(fmt.Sprintf("discovery.ports[%d]", i), "%d is given twice", p)
		}
		seen[p] = true
	}
	if d.Rate < 1 || d.Rate > MaxScanRate {
		bad("discovery.rate", "must be between 1 and %d connection attempts per second", MaxScanRate)
	}
	if d.Timeout < 100*time.Millisecond || d.Timeout > 5*time.Second {
		bad("discovery.timeout", "must be between 100ms and 5s")
	}
	if d.Concurrency < 1 || d.Concurrency > MaxScanParallel {
		bad("discovery.concurrency", "must be between 1 and %d", MaxScanParallel)
	}
}

// ParseScanNetwork reads a network the agent may scan: IPv4 CIDR, no
// larger than a /22, written as its network address (192.168.10.0/24,
// not 192.168.10.7/24, which may be a typing mistake for one address).
func ParseScanNetwork(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	switch {
	case err != nil:
		return netip.Prefix{}, fmt.Errorf("%q is not a network such as 192.168.10.0/24", s)
	case !p.Addr().Is4():
		return netip.Prefix{}, fmt.Errorf("%q: only IPv4 networks are scanned", s)
	case p.Bits() < MinScanPrefix:
		return netip.Prefix{}, fmt.Errorf("%q has %d addresses; a scan covers a /%d (%d addresses) at most: give the store's own network", s, 1<<(32-p.Bits()), MinScanPrefix, 1<<(32-MinScanPrefix))
	case p.Masked() != p:
		return netip.Prefix{}, fmt.Errorf("%q is not a network address: did you mean %s?", s, p.Masked())
	}
	return p, nil
}
