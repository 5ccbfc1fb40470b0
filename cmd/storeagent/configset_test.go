package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/internal/cli"
)

// config set writes per-store settings into the file the MSI installs and
// keeps everything else, comments included.
func TestConfigSetKeepsTheRestOfTheFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "agent.yaml")
	packaged := string(readFile(t, "../../packaging/windows/agent.yaml"))
	// The packaged file's disk is C:\, which Linux lacks; the test's is /.
	if err := os.WriteFile(file, []byte(strings.Replace(packaged, `'C:\'`, "/", 1)), 0o640); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("config", "set", file, "broker.urls=tls://hub.example.com:8883, tls://hub-2.example.com:8883",
		"tenant=acme", "store=0042", "agent=", "site.name=Acme: Berlin")
	if code != cli.ExitOK {
		t.Fatalf("config set: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "store = 0042") || strings.Contains(out, "agent =") {
		t.Errorf("config set says:\n%s", out)
	}
	got := string(readFile(t, file))
	for _, want := range []string{
		"tenant: acme # the retail chain", // the comment stays with its setting
		"store: '0042'",                   // a string, not the number 42
		"agent: unconfigured",             // empty: left as it was
		"broker:\n  urls:\n    - tls://hub.example.com:8883\n    - tls://hub-2.example.com:8883\n",
		"name: 'Acme: Berlin'",
		"# Secrets (the broker password) belong in the service's environment",
		"min_free_percent: 10",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the file lacks %q:\n%s", want, got)
		}
	}
	if _, errOut, code := run("config", "check", file); code != cli.ExitOK {
		t.Errorf("the edited file does not check: %s", errOut)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640", st.Mode().Perm())
	}
}

// A change that would break the file, or a setting it does not know,
// leaves the file as it was.
func TestConfigSetRefuses(t *testing.T) {
	file := writeConfig(t, "  []\n")
	before := string(readFile(t, file))
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"site.timezone=Mars/Olympus"}, "would not check"},
		{[]string{"broker.urls=ftp://x"}, "would not check"},
		{[]string{"polling.interval=1h"}, "cannot be set this way"},
		{[]string{"store"}, "want SETTING=VALUE"},
		{[]string{"store=a\nb"}, "a value is one line"},
	} {
		_, errOut, code := run(append([]string{"config", "set", file}, c.args...)...)
		if code != cli.ExitUsage || !strings.Contains(errOut, c.says) {
			t.Errorf("config set %v: exit %d, %q; want %q", c.args, code, errOut, c.says)
		}
		if string(readFile(t, file)) != before {
			t.Fatalf("config set %v changed the file", c.args)
		}
	}
	if _, errOut, code := run("config", "set", filepath.Join(t.TempDir(), "missing.yaml"), "store=x"); code != cli.ExitFailed {
		t.Errorf("a missing file: exit %d, %s", code, errOut)
	}
	if out, _, code := run("config", "set", file, "store=", "tenant="); code != cli.ExitOK || !strings.Contains(out, "nothing to change") {
		t.Errorf("only empty values: exit %d, %s", code, out)
	}
}

func FuzzSetSettings(f *testing.F) {
	f.Add("tenant: a # c\nsite:\n  name: x\n", "site.name", "y")
	f.Add("broker: ~\n", "broker.urls", "tcp://a:1,tcp://b:2")
	f.Add("", "store", "42")
	f.Add("- a\n", "store", "x")
	f.Fuzz(func(t *testing.T, doc, key, value string) {
		c, err := parseAssignment(key + "=" + value)
		if err != nil || c.value == "" {
			return
		}
		out, err := setSettings([]byte(doc), []assignment{c})
		if err != nil {
			return
		}
		// What was set reads back as what was asked for.
		var got any
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatalf("the result is not YAML: %v\n%s", err, out)
		}
		for _, k := range strings.Split(c.key, ".") {
			m, ok := got.(map[string]any)
			if !ok {
				t.Fatalf("%s is not a section in\n%s", k, out)
			}
			got = m[k]
		}
		want := any(c.value)
		if settable[c.key] {
			var items []any
			for _, s := range strings.Split(c.value, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			want = items
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s reads back as %#v, want %#v:\n%s", c.key, got, want, out)
		}
	})
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
