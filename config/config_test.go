package config

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func noEnv(string) (string, bool) { return "", false }

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestExampleConfigLoads(t *testing.T) {
	for _, file := range exampleConfigs {
		t.Run(file, func(t *testing.T) { exampleConfigLoads(t, file) })
	}
}

// exampleConfigs are the examples the packages ship: Linux paths, and the
// MSI's with Windows paths (its winspool device is checked against the
// drivers by storeagent.exe config check under Wine, packaging/wintest).
var exampleConfigs = []string{"../packaging/examples/agent.yaml", "../packaging/windows/agent.yaml.example"}

func exampleConfigLoads(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Parse("agent.yaml", data, env(map[string]string{"STOREWATCH_BROKER_PASSWORD": "s3cret"}))
	if err != nil {
		t.Fatalf("the shipped example config does not load:\n%v", err)
	}
	if cfg.Broker.Password != "s3cret" {
		t.Errorf("password from ${STOREWATCH_BROKER_PASSWORD} = %q", cfg.Broker.Password)
	}
	if cfg.Devices[0].Interval != 30*time.Second || cfg.Devices[0].Debounce != 2 || cfg.Devices[0].Timeout != 5*time.Second {
		t.Errorf("device did not inherit polling defaults: %+v", cfg.Devices[0])
	}
	if cfg.Outbox.MaxBytes != 64<<20 {
		t.Errorf("max_bytes = %d", cfg.Outbox.MaxBytes)
	}
	if strings.Contains(cfg.Redacted().Broker.Password, "s3cret") {
		t.Error("Redacted leaks the broker password")
	}
}

func TestThreeMistakesGiveThreeErrorsWithLines(t *testing.T) {
	data, err := os.ReadFile("testdata/three-mistakes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Parse("three-mistakes.yaml", data, noEnv)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want Errors", err)
	}
	want := []string{
		`three-mistakes.yaml:11: unknown setting "intervall" (in device)`,
		`three-mistakes.yaml:16: devices[1].interval: must be at least 1s`,
		`three-mistakes.yaml:17: devices[2].id: "receipt-lane1" is already used by devices[0]`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q\nwant prefix %q", i, errs[i].Error(), w)
		}
	}
}

func TestErrorsTechniciansCanRead(t *testing.T) {
	base := "tenant: acme\nstore: s1\nagent: a1\nsite:\n  timezone: Europe/Berlin\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"empty file", "", "the file is empty"},
		{"not yaml", "tenant: [unclosed\n", "not valid YAML"},
		{"list at top", "- a\n- b\n", "must be a YAML mapping"},
		{"missing identity", "site:\n  timezone: UTC\n", "tenant: required"},
		{"missing timezone", "tenant: a\nstore: b\nagent: c\n", "site.timezone: required"},
		{"bad timezone", "tenant: a\nstore: b\nagent: c\nsite:\n  timezone: Mars/Olympus\n", `"Mars/Olympus" is not a known time zone`},
		{"duration without unit", base + "polling:\n  interval: 30\n", `"30" is not a duration; write it with a unit`},
		{"bad size", base + "outbox:\n  max_bytes: lots\n", `"lots" is not a size`},
		{"negative keep_sent", base + "outbox:\n  keep_sent: -1\n", "outbox.keep_sent: must be 0 to 100000"},
		{"bad hours", base[:len(base)-1] + "\n  hours:\n    mon: 8-20\n", "site.hours"},
		{"bad broker scheme", base + "broker:\n  urls: [http://hub:80]\n", `unknown scheme "http"`},
		{"broker without port", base + "broker:\n  urls: [tls://hub]\n", "has no port"},
		{"credentials in url", base + "broker:\n  urls: [tls://u:p@hub:8883]\n", "do not put credentials in the URL"},
		{"half a client cert", base + "broker:\n  urls: [tls://hub:8883]\n  cert_file: c.pem\n", "needs both cert_file and key_file"},
		{"unknown kind", base + "devices:\n  - {id: d1, kind: toaster, driver: x, address: tcp://h:1}\n", `unknown kind "toaster"`},
		{"timeout over interval", base + "devices:\n  - {id: d1, kind: scale, driver: sics, address: 'serial:///dev/ttyS0', interval: 2s, timeout: 5s}\n", "longer than the interval"},
		{"unset env", base + "broker:\n  urls: [tls://hub:8883]\n  username: u\n  password: ${NOPE_NOT_SET}\n", "environment variable NOPE_NOT_SET is not set"},
		{"wrong type", base + "devices: yes\n", "must be a list"},
		{"bad key", base + "remote:\n  hub_public_key: abc\n", "base64 Ed25519 public key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse("a.yaml", []byte(c.yaml), noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestEnvOverridesSecrets(t *testing.T) {
	data := []byte("tenant: a\nstore: b\nagent: c\nsite:\n  timezone: UTC\nbroker:\n  urls: [tcp://h:1883]\n  username: file-user\n")
	cfg, _, err := Parse("a.yaml", data, env(map[string]string{
		EnvBrokerUsername: "env-user", EnvBrokerPassword: "env-pass", EnvBrokerURLs: "tls://a:8883, tls://b:8883",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker.Username != "env-user" || cfg.Broker.Password != "env-pass" || len(cfg.Broker.URLs) != 2 {
		t.Errorf("overrides not applied: %+v", cfg.Broker)
	}
}

func TestLinesPointAtNearestSetting(t *testing.T) {
	data, _ := os.ReadFile("testdata/three-mistakes.yaml")
	_, lines, _ := Parse("f.yaml", data, noEnv)
	if e := lines.Error("devices[1].address", "x"); e.Line != 15 {
		t.Errorf("devices[1].address is on line %d, want 15", e.Line)
	}
	if e := lines.Error("devices[1].options.baud", "x"); e.Line != 12 {
		t.Errorf("a setting not in the file should point at its device (line 12), got %d", e.Line)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"64MiB": 64 << 20, "500MB": 500e6, "1048576": 1 << 20, "1.5GiB": 3 << 29, "10 KiB": 10240} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseByteSize("-1MiB"); err == nil {
		t.Error("negative size accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, file := range append([]string{"testdata/three-mistakes.yaml"}, exampleConfigs...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("devices: [{id: x}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := Parse("fuzz.yaml", data, noEnv)
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
	})
}

// A setting written in the file is kept even when it is zero; the defaults
// only fill in what the file leaves out.
func TestZeroSettingsAreKept(t *testing.T) {
	base := "tenant: a\nstore: b\nagent: c\nsite:\n  timezone: UTC\n"
	cfg, _, err := Parse("a.yaml", []byte(base+"polling:\n  grace: 0s\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Polling.Grace != 0 {
		t.Errorf("grace: 0s became %v", cfg.Polling.Grace)
	}
	_, _, err = Parse("a.yaml", []byte(base+"polling:\n  debounce: 0\ndevices:\n  - {id: d, kind: other, driver: x, address: 'tcp://h:1', interval: 0s}\n"), noEnv)
	for _, want := range []string{"polling.debounce: must be between 1 and 10", "devices[0].interval: must be at least 1s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}
