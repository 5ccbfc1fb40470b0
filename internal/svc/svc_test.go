package svc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kardianos/service"
)

// fakeService records what was asked of it, standing in for the Windows
// service manager or systemd.
type fakeService struct {
	calls  []string
	status service.Status
	err    error
}

func (f *fakeService) do(name string) error { f.calls = append(f.calls, name); return f.err }
func (f *fakeService) Install() error       { return f.do("install") }
func (f *fakeService) Uninstall() error     { return f.do("uninstall") }
func (f *fakeService) Start() error         { return f.do("start") }
func (f *fakeService) Stop() error          { return f.do("stop") }
func (f *fakeService) Restart() error       { return f.do("restart") }
func (f *fakeService) Status() (service.Status, error) {
	f.calls = append(f.calls, "status")
	return f.status, f.err
}

var spec = Spec{Name: "storeagent", DisplayName: "storewatch store agent", Args: []string{"run", "--config", "/etc/storewatch/agent.yaml"}}

func TestControlSaysWhatHappened(t *testing.T) {
	cases := []struct {
		action string
		svc    *fakeService
		want   string
		err    string
	}{
		{"start", &fakeService{}, "storeagent: start done", ""},
		{"status", &fakeService{status: service.StatusRunning}, "storeagent is running", ""},
		{"status", &fakeService{status: service.StatusStopped}, "installed but stopped", ""},
		{"status", &fakeService{err: service.ErrNotInstalled}, "storeagent is not installed", "not installed"},
		{"uninstall", &fakeService{}, "storeagent uninstalled", ""},
		{"stop", &fakeService{err: errors.New("open /etc/systemd/system/x: permission denied")}, "", "(run it as root)"},
		{"frobnicate", &fakeService{}, "", "unknown action"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := Control(c.svc, spec, c.action, &out)
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: output %q lacks %q", c.action, out.String(), c.want)
		}
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: err = %v, want %q", c.action, err, c.err)
		}
	}
}

func TestConfigRegistersAnAutomaticService(t *testing.T) {
	c := Config(spec, `C:\Program Files\storewatch\storeagent.exe`)
	if c.Option["StartType"] != "automatic" {
		t.Errorf("StartType = %v", c.Option["StartType"])
	}
	// Delayed start and recovery are afterInstall's, one setting at a time:
	// through kardianos, one refused setting would undo the install.
	for _, key := range []string{"DelayedAutoStart", "OnFailure"} {
		if _, ok := c.Option[key]; ok {
			t.Errorf("Option[%s] is set; afterInstall sets it", key)
		}
	}
	if strings.Join(c.Arguments, " ") != "run --config /etc/storewatch/agent.yaml" {
		t.Errorf("arguments = %v", c.Arguments)
	}
}

// The sc.exe commands say what WindowsRecovery says: the MSI runs them.
func TestWindowsRecoveryAsScCommands(t *testing.T) {
	want := []string{
		"failure storeagent reset= 86400 actions= restart/10000/restart/10000/restart/10000",
		"failureflag storeagent 1",
		"config storeagent start= delayed-auto",
	}
	if got := WindowsRecovery.ScCommands("storeagent"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sc.exe commands:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnit(t *testing.T) {
	s := spec
	s.User, s.Groups, s.StateDir, s.ConfigDir, s.Devices, s.StopTimeout = "storewatch", []string{"dialout", "plugdev"}, "storewatch", "storewatch", true, 10*time.Second
	u := Unit(s, "/opt/store watch/storeagent")
	for _, want := range []string{
		`ExecStart="/opt/store watch/storeagent" run --config /etc/storewatch/agent.yaml`,
		"User=storewatch\n", "SupplementaryGroups=dialout plugdev\n", "StateDirectory=storewatch\n",
		"Restart=on-failure\n", "NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "DeviceAllow=char-ttyUSB rw\n",
		"TimeoutStopSec=20\n", "WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("unit lacks %q:\n%s", want, u)
		}
	}
	s.Devices = false
	if u := Unit(s, "/usr/bin/storehub"); !strings.Contains(u, "PrivateDevices=yes") || strings.Contains(u, "DeviceAllow") {
		t.Errorf("a service without devices must not see them:\n%s", u)
	}
}

func TestQuoteCommand(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/a": "/usr/bin/a",
		"C:\\x y":    `"C:\\x y"`,
		`say "hi"`:   `"say \"hi\""`,
		"100%":       "100%%",
		"":           `""`,
	} {
		if got := quoteCommand([]string{in}); got != want {
			t.Errorf("quoteCommand(%q) = %s, want %s", in, got, want)
		}
	}
}
