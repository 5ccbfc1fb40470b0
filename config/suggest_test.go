package config

import (
	"strings"
	"testing"
)

func TestNearestSuggestsTheSettingMeant(t *testing.T) {
	known := []string{"interval", "timeout", "debounce", "grace", "busy_limit"}
	for _, c := range []struct{ typo, want string }{
		{"intervall", "interval"}, {"intreval", "interval"}, {"timout", "timeout"}, {"Interval", "interval"},
		{"busylimit", "busy_limit"}, {"grace", ""}, {"colour", ""}, {"x", ""},
	} {
		if got := Nearest(c.typo, known); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.typo, got, c.want)
		}
	}
}

// A file of the other program is said to be one, in one message, instead of
// a dozen unknown settings.
func TestTheOtherProgramsFileIsRecognised(t *testing.T) {
	agent := "tenant: acme\nstore: s1\nagent: a1\nsite: {timezone: UTC}\nbroker: {urls: [tcp://h:1883]}\ndevices: []\n"
	hub := "data_dir: /tmp/x\napi: {listen: ':8080'}\nagents: []\nbroker: {mode: embedded}\n"
	for _, c := range []struct {
		name, file, want string
		parse            func(string, []byte) error
	}{
		{"agent file to storehub", agent, "this is a storeagent (store agent) configuration, not a storehub one (it has tenant, agent, site, devices): check it with `storeagent config check agent.yaml`",
			func(f string, d []byte) error { _, _, err := ParseHub(f, d, noEnv); return err }},
		{"hub file to storeagent", hub, "this is a storehub (hub) configuration, not a storeagent one (it has data_dir, api, agents): check it with `storehub config check agent.yaml`",
			func(f string, d []byte) error { _, _, err := Parse(f, d, noEnv); return err }},
	} {
		err := c.parse("agent.yaml", []byte(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s:\n got  %v\n want one line: %s", c.name, err, c.want)
		}
	}
	// One stray key of the other program's is a mistake like any other.
	if other, _ := OtherProgram([]byte("tenant: a\nstore: b\nagent: c\napi: {}\n"), "storeagent"); other != "" {
		t.Errorf("an agent file with one hub setting was taken for a hub file")
	}
}
