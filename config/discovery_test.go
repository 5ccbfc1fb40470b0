package config

import (
	"strings"
	"testing"
)

func TestDiscoverySettings(t *testing.T) {
	const head = "tenant: t\nstore: s\nagent: a\nsite: {timezone: UTC}\n"
	for _, tc := range []struct {
		name, yaml string
		want       string // in the error; "" for none
	}{
		{"off by default", "", ""},
		{"a store network", "discovery: {networks: [192.168.10.0/24]}", ""},
		{"a /22 with ports", "discovery: {networks: [10.1.0.0/22], ports: [9100, 20007], rate: 200, timeout: 5s, concurrency: 16}", ""},
		{"larger than a /22", "discovery: {networks: [10.0.0.0/21]}", "discovery.networks[0]: \"10.0.0.0/21\" has 2048 addresses"},
		{"a host address", "discovery: {networks: [192.168.10.7/24]}", "did you mean 192.168.10.0/24"},
		{"not a network", "discovery: {networks: [the store]}", "not a network"},
		{"IPv6", "discovery: {networks: ['fd00::/120']}", "only IPv4"},
		{"too many networks", "discovery: {networks: [10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.4.0/24, 10.0.5.0/24, 10.0.6.0/24, 10.0.7.0/24, 10.0.8.0/24]}", "at most 8"},
		{"no ports", "discovery: {networks: [10.0.0.0/24], ports: []}", "needs ports"},
		{"bad port", "discovery: {ports: [0]}", "not a TCP port"},
		{"port twice", "discovery: {ports: [9100, 9100]}", "given twice"},
		{"rate", "discovery: {rate: 1000}", "discovery.rate"},
		{"timeout", "discovery: {timeout: 30s}", "discovery.timeout"},
		{"concurrency", "discovery: {concurrency: 0}", "discovery.concurrency"},
		{"unknown setting", "discovery: {subnet: 10.0.0.0/24}", "subnet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := Parse("agent.yaml", []byte(head+tc.yaml+"\n"), noEnv)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.yaml == "" && (len(cfg.Discovery.Networks) != 0 || len(cfg.Discovery.Ports) != len(DefaultScanPorts)) {
					t.Errorf("defaults: %+v", cfg.Discovery)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func FuzzParseScanNetwork(f *testing.F) {
	for _, s := range []string{"192.168.10.0/24", "10.0.0.0/22", "10.0.0.0/21", "192.168.10.7/24", "fd00::/120", " 1.2.3.4/32 ", "", "/", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseScanNetwork(s)
		if err != nil {
			return
		}
		if !p.Addr().Is4() || p.Bits() < MinScanPrefix || p.Masked() != p {
			t.Errorf("%q accepted as %v", s, p)
		}
		if q, err := ParseScanNetwork(p.String()); err != nil || q != p {
			t.Errorf("%v does not read back: %v %v", p, q, err)
		}
	})
}
