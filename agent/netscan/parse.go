package netscan

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/transport"
)

// ParsePorts reads a comma-separated list of TCP ports, such as
// 9100,20007 (storeagent discover --ports): each once, at most
// config.MaxScanPorts.
func ParsePorts(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		switch {
		case err != nil || n < 1 || n > 65535:
			return nil, fmt.Errorf("%q is not a TCP port (1 to 65535)", f)
		case seen[n]:
			return nil, fmt.Errorf("port %d is given twice", n)
		}
		seen[n] = true
		out = append(out, n)
	}
	if len(out) > config.MaxScanPorts {
		return nil, fmt.Errorf("%d ports, at most %d", len(out), config.MaxScanPorts)
	}
	return out, nil
}

// Monitored says which addresses configured devices use (those given as
// IP addresses; a host name is not looked up), for Options.Skip: a scan
// leaves them alone.
func Monitored(devices []config.Device) func(netip.Addr) bool {
	ips := map[netip.Addr]bool{}
	for _, d := range devices {
		if ip, ok := DeviceIP(d.Address); ok {
			ips[ip] = true
		}
	}
	return func(a netip.Addr) bool { return ips[a] }
}

// DeviceIP is the IP address a device address names, if it names one.
func DeviceIP(address string) (netip.Addr, bool) {
	a, err := transport.Parse(address)
	if err != nil || a.Host == "" {
		return netip.Addr{}, false
	}
	host := a.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// WriteTable prints what a scan found for a technician.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tIP\tOPEN PORTS\tSERIAL\tVENDOR / MODEL\tDRIVER\tADDRESS")
	for _, f := range r.Found {
		ports := make([]string, len(f.Open))
		for i, p := range f.Open {
			ports[i] = strconv.Itoa(p)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, f.IP, strings.Join(ports, ","), dash(f.Serial),
			dash(strings.TrimSpace(f.Vendor+" "+f.Model)), f.Driver, f.Address)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Found {
		if _, err := fmt.Fprintf(w, "note: %s: %s\n", f.IP, f.Note); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d addresses scanned, %d left alone (monitored), %d connection attempts, %d devices answered\n", r.Scanned, r.Skipped, r.Attempts, len(r.Found))
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
