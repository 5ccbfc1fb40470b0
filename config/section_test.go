package config

import (
	"strings"
	"testing"
	"time"
)

// deskSection stands for a section another package defines, with the
// shapes such sections use.
type deskSection struct {
	Name  string          `yaml:"name"`
	Desks []deskEntry     `yaml:"desks"`
	Teams map[string]team `yaml:"teams"`
	Wait  time.Duration   `yaml:"wait"`
}

type deskEntry struct {
	URL    string            `yaml:"url"`
	Key    string            `yaml:"api_key"`
	Extra  *deskExtra        `yaml:"extra"`
	Header map[string]string `yaml:"headers"`
	Route  `yaml:",inline"`
}

type deskExtra struct {
	Fields map[int]int `yaml:"fields"`
}

type Route struct {
	Project string `yaml:"project"`
}

type team struct {
	Hours map[string]string `yaml:"hours"`
}

const agentsLine = "agents: [{tenant: acme, store: s1, agent: a1, password_hash: $7$1$AA==$AA==}]\n"

func parseSection(t *testing.T, y string, env map[string]string) (*Hub, deskSection, Errors) {
	t.Helper()
	cfg, _, err := ParseHub("hub.yaml", []byte(agentsLine+y), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the hub file itself: %v", err)
	}
	var d deskSection
	errs := cfg.Helpdesk.Decode(&d)
	return cfg, d, errs
}

func TestSectionDecodesStrictlyWithLinesAndEnvironment(t *testing.T) {
	y := `helpdesk:
  name: main
  wait: 5s
  desks:
    - url: https://rm.example.com
      api_key: ${RM_KEY}
      project: stores
      extra: {fields: {1: 7}}
      headers: {Authorization: "${RM_AUTH}"}
  teams:
    berlin: {hours: {mon-fri: "08:00-18:00"}}
`
	cfg, d, errs := parseSection(t, y, map[string]string{"RM_KEY": "k3y", "RM_AUTH": "Bearer x"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	e := d.Desks[0]
	if d.Name != "main" || d.Wait != 5*time.Second || e.Key != "k3y" || e.Header["Authorization"] != "Bearer x" ||
		e.Project != "stores" || e.Extra.Fields[1] != 7 || d.Teams["berlin"].Hours["mon-fri"] != "08:00-18:00" {
		t.Errorf("decoded %+v", d)
	}
	if !cfg.Helpdesk.Given() || cfg.Tickets.Given() {
		t.Errorf("given: helpdesk %v, tickets %v", cfg.Helpdesk.Given(), cfg.Tickets.Given())
	}
}

func TestSectionMistakesCarryTheirLines(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "helpdesk:\n  name: x\n  desks:\n    - url: u\n      projekt: p\n",
			`hub.yaml:6: helpdesk.desks[0]: unknown setting "projekt" (in desks[0])`},
		{"unknown nested", "helpdesk:\n  desks:\n    - extra: {fieldz: {}}\n",
			`hub.yaml:4: helpdesk.desks[0].extra: unknown setting "fieldz"`},
		{"unknown in map value", "helpdesk:\n  teams:\n    berlin: {hourz: {}}\n",
			`hub.yaml:4: helpdesk.teams.berlin: unknown setting "hourz"`},
		{"wrong type", "helpdesk:\n  wait: soon\n", `hub.yaml:3: helpdesk: "soon" is not a duration`},
		{"not a section", "helpdesk: [redmine]\n", `hub.yaml:2: helpdesk: must be a section of key: value settings`},
		{"missing variable", "helpdesk:\n  desks: [{api_key: '${NOPE}'}]\n", `helpdesk.desks[0].api_key: environment variable NOPE is not set`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, errs := parseSection(t, c.yaml, nil)
			if !strings.Contains(errs.Error(), c.want) {
				t.Errorf("errors:\n%v\nwant one containing %q", errs, c.want)
			}
		})
	}
}

func TestSectionPlacesTheOwnersFindingsInTheFile(t *testing.T) {
	y := "helpdesk:\n  desks:\n    - url: ftp://x\n"
	cfg, _, errs := parseSection(t, y, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got := cfg.Helpdesk.Errors(Errors{{Path: "desks[0].url", Msg: "want an https URL"}, {Msg: "nothing routes here"}})
	want := "hub.yaml:4: helpdesk.desks[0].url: want an https URL\nhub.yaml:2: helpdesk: nothing routes here"
	if got.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", got, want)
	}
	if cfg.Helpdesk.Errors(nil) != nil {
		t.Error("no findings should be no errors")
	}
}

func TestSectionNotGiven(t *testing.T) {
	for _, y := range []string{"", "helpdesk:\n", "helpdesk: {}\n"} {
		cfg, d, errs := parseSection(t, y, nil)
		if cfg.Helpdesk.Given() || len(errs) > 0 || d.Name != "" {
			t.Errorf("%q: given %v, errors %v", y, cfg.Helpdesk.Given(), errs)
		}
	}
}

func FuzzSectionDecode(f *testing.F) {
	f.Add([]byte("helpdesk:\n  name: x\n  desks: [{url: u, api_key: k, extra: {fields: {1: 2}}, headers: {a: b}}]\n  teams: {b: {hours: {mon: x}}}\n"))
	f.Add([]byte("helpdesk: &a {desks: [*a]}\n"))
	f.Add([]byte("helpdesk:\n  wait: [1, 2]\n  desks: {url: u}\n  teams: [x]\n"))
	f.Add([]byte("helpdesk: 7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := ParseHub("fuzz.yaml", append([]byte(agentsLine), data...), noEnv)
		if cfg == nil {
			return
		}
		var d deskSection
		errs := cfg.Helpdesk.Decode(&d)
		if err == nil && len(errs) == 0 && !cfg.Helpdesk.Given() && d.Name != "" {
			t.Fatal("decoded settings from a section that is not given")
		}
		_ = cfg.Helpdesk.Errors(errs)
	})
}
