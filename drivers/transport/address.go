package transport

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Schemes a device address may use.
var knownSchemes = map[string]bool{
	"serial": true, // serial:///dev/ttyUSB0?baud=9600, serial://COM7, serial://?usb=0403:6001&usbserial=A1
	"tcp":    true, // tcp://10.0.0.5:9100
	"usb":    true, // usb://04b8:0e28?serial=X or usb:///dev/usb/lp0
	"snmp":   true, // snmp://10.0.0.7?version=2c
	"http":   true, // http://10.0.0.9/health
	"https":  true,
	"icmp":   true, // icmp://10.0.0.9
	"ipp":    true, // ipp://localhost:631/printers/receipt-lane3 (a CUPS queue or an IPP printer)
	// winspool:EPSON TM-T88V Receipt, a printer of the Windows print spooler
	// by its name (\\server\name for a shared one)
	"winspool": true,
	"local":    true, // local: the store PC itself (host checks)
}

// secretParams are never printed.
var secretParams = map[string]bool{"community": true, "password": true, "auth_pass": true, "priv_pass": true, "token": true}

// Address is a parsed device address.
type Address struct {
	Scheme string
	Host   string     // host[:port] for network schemes; VID:PID for usb
	Path   string     // device node for serial and usb; URL path for http
	Query  url.Values // transport parameters (baud, parity, ...)
	// Exclusive asks for the port to ourselves while a probe has it open
	// (TIOCEXCL and a UUCP lock file on Linux). Off by default: the POS
	// application must be able to open its device at any time. Set from the
	// device's configuration (exclusive: true), not from the address.
	Exclusive bool
	raw       string
}

// Parse reads a device address.
func Parse(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, fmt.Errorf("address is empty")
	}
	if rest, ok := cutPrefixFold(s, "usb://"); ok {
		return parseUSB(s, rest)
	}
	u, err := url.Parse(s)
	if err != nil {
		return Address{}, fmt.Errorf("address %q: %v", s, err)
	}
	a := Address{Scheme: strings.ToLower(u.Scheme), Host: u.Host, Path: u.Path, Query: u.Query(), raw: s}
	if !knownSchemes[a.Scheme] {
		names := make([]string, 0, len(knownSchemes))
		for k := range knownSchemes {
			names = append(names, k)
		}
		sort.Strings(names)
		return Address{}, fmt.Errorf("address %q: unknown scheme %q (want one of %s)", s, u.Scheme, strings.Join(names, ", "))
	}
	switch a.Scheme {
	case "serial":
		// serial:COM7 and serial://COM7 both name a Windows port.
		if u.Opaque != "" {
			a.Path = u.Opaque
		} else if a.Host != "" && a.Path == "" {
			a.Path, a.Host = a.Host, ""
		}
		if a.Path == "" && a.Query.Get("usb") == "" {
			return Address{}, fmt.Errorf("address %q: a serial address needs a device (serial:///dev/ttyUSB0, serial://COM7) or a USB identity (serial://?usb=0403:6001)", s)
		}
		if _, err := a.SerialMode(SerialMode{}); err != nil {
			return Address{}, fmt.Errorf("address %q: %w", s, err)
		}
	case "winspool":
		a.Path = u.Opaque
		if a.Path == "" {
			a.Path = strings.TrimPrefix(a.Host+a.Path, "/")
		}
		if a.Host = ""; a.Path == "" {
			return Address{}, fmt.Errorf("address %q: a winspool address names a printer as Windows lists it (winspool:EPSON TM-T88V Receipt)", s)
		}
	case "tcp", "snmp", "http", "https", "icmp", "ipp":
		if u.Hostname() == "" {
			return Address{}, fmt.Errorf("address %q: no host", s)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return Address{}, fmt.Errorf("address %q: bad port %q", s, p)
			}
		}
		if _, err := a.AlivePorts(); err != nil {
			return Address{}, fmt.Errorf("address %q: %w", s, err)
		}
	}
	return a, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// parseUSB reads usb://VID:PID?serial=X or usb:///dev/usb/lp0 by hand:
// net/url insists that what follows the colon is a numeric port.
func parseUSB(raw, rest string) (Address, error) {
	a := Address{Scheme: "usb", raw: raw}
	rest, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return Address{}, fmt.Errorf("address %q: %v", raw, err)
	}
	a.Query = q
	if strings.HasPrefix(rest, "/") {
		a.Path = rest
		return a, nil
	}
	vid, pid, ok := strings.Cut(rest, ":")
	if !ok || !isHex4(vid) || !isHex4(pid) {
		return Address{}, fmt.Errorf("address %q: want usb://VID:PID (four hex digits each, e.g. usb://04b8:0e28) or usb:///dev/usb/lp0", raw)
	}
	a.Host = strings.ToLower(vid) + ":" + strings.ToLower(pid)
	return a, nil
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// String returns the address with secrets (community strings, passwords)
// replaced, fit for logs and the inventory.
func (a Address) String() string {
	if a.raw == "" || a.Scheme == "usb" {
		return a.raw
	}
	u, err := url.Parse(a.raw)
	if err != nil {
		return a.Scheme + "://?"
	}
	q := u.Query()
	changed := false
	for k := range q {
		if secretParams[strings.ToLower(k)] {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
		changed = true
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// HostPort returns host:port, filling in defaultPort when the address has
// none.
func (a Address) HostPort(defaultPort int) string {
	host, port, err := net.SplitHostPort(a.Host)
	if err != nil {
		return net.JoinHostPort(strings.Trim(a.Host, "[]"), strconv.Itoa(defaultPort))
	}
	return net.JoinHostPort(host, port)
}

// Resource names what two users of this address would fight over: the serial
// device, or the TCP endpoint (a receipt printer on port 9100 takes one
// connection at a time). Probes of the same resource are serialised.
func (a Address) Resource() string {
	switch a.Scheme {
	case "serial":
		if a.Path != "" {
			return "serial:" + a.Path
		}
		return "serial:usb=" + a.Query.Get("usb") + "/" + a.Query.Get("usbserial")
	case "usb":
		return "usb:" + a.Host + a.Path
	case "winspool":
		return "winspool:" + strings.ToLower(a.Path)
	default:
		return a.Scheme + ":" + a.Host
	}
}
