package netscan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/config"
)

func TestParsePorts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  string
	}{
		{"9100", []int{9100}, ""},
		{"9100, 20007,22", []int{9100, 20007, 22}, ""},
		{"", nil, "not a TCP port"},
		{"9100,", nil, "not a TCP port"},
		{"0", nil, "not a TCP port"},
		{"65536", nil, "not a TCP port"},
		{"http", nil, "not a TCP port"},
		{"22,22", nil, "twice"},
		{"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", nil, "at most 16"},
	} {
		got, err := ParsePorts(tc.in)
		if tc.err == "" && (err != nil || !slices.Equal(got, tc.want)) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v, error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"9100", "9100,20007,3389,22", "", ",", "0", "65536", "-1", " 22 ", "22,22", "+22"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParsePorts(s)
		if err != nil {
			return
		}
		if len(ports) == 0 || len(ports) > config.MaxScanPorts {
			t.Errorf("%q: %d ports", s, len(ports))
		}
		seen := map[int]bool{}
		for _, p := range ports {
			if p < 1 || p > 65535 || seen[p] {
				t.Errorf("%q gives port %d", s, p)
			}
			seen[p] = true
		}
	})
}

func TestMonitored(t *testing.T) {
	skip := Monitored([]config.Device{
		{Address: "tcp://10.0.0.5:9100"}, {Address: "snmp://10.0.0.7?version=2c"}, {Address: "serial:///dev/ttyS0"},
		{Address: "tcp://printer.store:9100"}, {Address: "http://10.0.0.9/status"},
	})
	for _, tc := range []struct {
		ip   string
		want bool
	}{{"10.0.0.5", true}, {"10.0.0.7", true}, {"10.0.0.9", true}, {"10.0.0.50", false}, {"10.0.0.6", false}} {
		if got := skip(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("%s monitored: %v, want %v", tc.ip, got, tc.want)
		}
	}
}
