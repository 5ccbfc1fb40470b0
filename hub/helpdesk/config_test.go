package helpdesk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

// decode reads a helpdesk section the way the hub's loader does: strict
// field names.
func decode(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, err
	}
	return c, nil
}

func exampleConfig(t *testing.T) Config {
	t.Helper()
	data, err := os.ReadFile("testdata/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("the example does not validate:\n%v", errs)
	}
	return c
}

func TestExampleConfigDefaults(t *testing.T) {
	c := exampleConfig(t)
	o := c.Outbox
	if o.Workers != 4 || o.RetryMin != 5*time.Second || o.RetryMax != 10*time.Minute || o.GiveUpAfter != 72*time.Hour ||
		o.UpdateInterval != 15*time.Minute || o.SyncInterval != 5*time.Minute {
		t.Errorf("outbox defaults: %+v", o)
	}
	if c.Helpdesks[2].Email.TLS != "starttls" || c.Helpdesks[2].Email.Domain != "example.com" {
		t.Errorf("email defaults: %+v", c.Helpdesks[2].Email)
	}
}

func TestConfigMistakes(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown setting", "outbox: {path: x, retries: 3}", "field retries not found"},
		{"no helpdesk type", "helpdesks: [{name: a}]\noutbox: {path: x}", `helpdesks[0].type: "": want redmine, webhook or email`},
		{"section missing", "helpdesks: [{name: a, type: redmine}]\noutbox: {path: x}", "helpdesks[0].redmine: required for type redmine"},
		{"redmine without external id", "helpdesks: [{name: a, type: redmine, redmine: {url: 'https://r', api_key: k, project: p, tracker_id: 1, statuses: {resolved: 3, closed: 5}}}]\noutbox: {path: x}",
			"helpdesks[0].redmine.custom_fields.external_id: required"},
		{"bad url", "helpdesks: [{name: a, type: webhook, webhook: {url: 'ftp://x', secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}}]\noutbox: {path: x}", `helpdesks[0].webhook.url: "ftp://x"`},
		{"bad secret", "helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secret: hunter2}}]\noutbox: {path: x}", `helpdesks[0].webhook.secret: want "whsec_"`},
		{"short secret", "helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secret: whsec_c2hvcnQ=}}]\noutbox: {path: x}", "the key is 5 bytes"},
		{"clear-text password", "helpdesks: [{name: m, type: email, email: {server: 'h:25', tls: none, username: u, from: a@b.c, to: [x@y.z]}}]\noutbox: {path: x}", "helpdesks[0].email.tls: none would send the password"},
		{"duplicate name", "helpdesks: [{name: none, type: webhook, webhook: {url: 'https://x', secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}}]\noutbox: {path: x}", `helpdesks[0].name: "none" is reserved`},
		{"unknown route target", "routing: {rules: [{tenants: [a], helpdesk: jira}]}\noutbox: {path: x}", `routing.rules[0].helpdesk: no helpdesk named "jira" (have none)`},
		{"rule without target", "routing: {rules: [{tenants: [a]}]}\noutbox: {path: x}", "routing.rules[0].helpdesk: required"},
		{"unknown team", "routing: {rules: [{helpdesk: none, follow_the_sun: [tokyo]}]}\noutbox: {path: x}", `routing.rules[0].follow_the_sun[0]: no team named "tokyo"`},
		{"bad team hours", "routing: {teams: [{name: t, timezone: Mars/Olympus, hours: {mon: '25:00-26:00'}}]}\noutbox: {path: x}", "routing.teams[0].timezone"},
		{"bad kind", "routing: {rules: [{helpdesk: none, kinds: [toaster]}]}\noutbox: {path: x}", `routing.rules[0].kinds[0]: "toaster"`},
		{"bad fault", "routing: {rules: [{helpdesk: none, faults: [on_fire]}]}\noutbox: {path: x}", `routing.rules[0].faults[0]: "on_fire" is not a fault code`},
		{"bad zone", "routing: {rules: [{helpdesk: none, timezones: [Europe/Atlantis]}]}\noutbox: {path: x}", `routing.rules[0].timezones[0]: "Europe/Atlantis"`},
		{"bad country", "routing: {rules: [{helpdesk: none, countries: [germany]}]}\noutbox: {path: x}", `routing.rules[0].countries[0]: "germany"`},
		{"no outbox path", "namespace: x", "outbox.path: required"},
		{"bad backoff", "outbox: {path: x, retry_min: 10m, retry_max: 1m}", "outbox.retry_max: retry_min (10m0s) must be positive and not above retry_max (1m0s)"},
	} {
		c, err := decode([]byte(tc.yaml))
		if err == nil {
			if errs := c.Validate(); len(errs) > 0 {
				err = errs
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %q", tc.name, err, tc.want)
		}
	}
}

func TestRouting(t *testing.T) {
	rt := NewRouter(exampleConfig(t).Routing)
	// Monday 2026-03-02: 10:00 UTC is 11:00 in Berlin, 18:00 in Manila;
	// 20:00 UTC is 21:00 in Berlin and 04:00 Tuesday in Manila; 23:30 UTC is
	// 07:30 Tuesday in Manila.
	mon10, mon20, mon2330 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC)
	base := incident("0042", "prn1", wire.FaultPaperOut)
	with := func(edit func(*tickets.Incident)) tickets.Incident { in := base; edit(&in); return in }
	for _, tc := range []struct {
		name string
		in   tickets.Incident
		at   time.Time
		want Destination
	}{
		{"a German head fault goes to the technician partner", with(func(in *tickets.Incident) { in.Fault = wire.FaultHeadFault }), mon10,
			Destination{Rule: "technician jobs go to the field-service partner", Helpdesk: "fsm-partner"}},
		{"an explicit dispatch remedy counts too", with(func(in *tickets.Incident) { in.Remedy = wire.RemedyDispatch }), mon10,
			Destination{Rule: "technician jobs go to the field-service partner", Helpdesk: "fsm-partner"}},
		{"a Russian head fault is not the partner's", with(func(in *tickets.Incident) {
			in.Fault, in.Country, in.TimeZone = wire.FaultHeadFault, "RU", "Asia/Yekaterinburg"
		}), mon10,
			Destination{Rule: "default", Helpdesk: "redmine", AssigneeGroup: "first-line"}},
		{"tenant bolt stays in the hub", with(func(in *tickets.Incident) { in.Tenant = "bolt" }), mon10,
			Destination{Rule: "bolt keeps its tickets in the hub", Helpdesk: None}},
		{"Austria by mail in German", with(func(in *tickets.Incident) { in.Country, in.TimeZone = "AT", "Europe/Vienna" }), mon10,
			Destination{Rule: "austrian stores by mail, in German", Helpdesk: "mail", Project: "filialen@helpdesk.example.at", Language: "de"}},
		{"Berlin office hours: Berlin takes it", base, mon10,
			Destination{Rule: "everything else follows the sun", Helpdesk: "redmine", AssigneeGroup: "first-line", Team: "berlin"}},
		{"Berlin evening, Manila night: nobody, the rule's own fields", base, mon20,
			Destination{Rule: "everything else follows the sun", Helpdesk: "redmine"}},
		{"Manila morning: Manila takes it", base, mon2330,
			Destination{Rule: "everything else follows the sun", Helpdesk: "redmine", AssigneeGroup: "manila-desk", Team: "manila"}},
		{"a store offline in Europe follows the sun", with(func(in *tickets.Incident) { in.Device, in.Fault = "", wire.FaultAgentOffline }), mon10,
			Destination{Rule: "everything else follows the sun", Helpdesk: "redmine", AssigneeGroup: "first-line", Team: "berlin"}},
		{"outside Europe: the default", with(func(in *tickets.Incident) { in.Country, in.TimeZone = "US", "America/New_York" }), mon10,
			Destination{Rule: "default", Helpdesk: "redmine", AssigneeGroup: "first-line"}},
	} {
		if got := rt.Route(tc.in, tc.at); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	if got := NewRouter(Routing{}).Route(base, mon10); got.Helpdesk != None {
		t.Errorf("no routing at all: %+v, want the built-in list", got)
	}
}

func TestRuleMatchesEveryField(t *testing.T) {
	in := incident("0042", "prn1", wire.FaultPaperOut)
	in.Region = "north"
	for _, tc := range []struct {
		rule Rule
		want bool
	}{
		{Rule{}, true},
		{Rule{Tenants: []string{"acme"}}, true},
		{Rule{Tenants: []string{"bolt"}}, false},
		{Rule{Stores: []string{"acme/0042"}}, true},
		{Rule{Stores: []string{"0042"}}, true},
		{Rule{Stores: []string{"0043"}}, false},
		{Rule{Countries: []string{"AT", "DE"}}, true},
		{Rule{Regions: []string{"south"}}, false},
		{Rule{Regions: []string{"north"}}, true},
		{Rule{TimeZones: []string{"Europe/*"}}, true},
		{Rule{TimeZones: []string{"Europe/Berlin"}}, true},
		{Rule{TimeZones: []string{"Europe/Ber*"}}, false}, // only whole-segment prefixes
		{Rule{Kinds: []string{"scale"}}, false},
		{Rule{Kinds: []string{"receipt_printer"}}, true},
		{Rule{Kinds: []string{"store"}}, false},
		{Rule{Faults: []string{"paper_out"}, Remedies: []string{"store"}}, true},
		{Rule{Faults: []string{"paper_out"}, Remedies: []string{"dispatch"}}, false},
	} {
		if got := tc.rule.matches(in); got != tc.want {
			t.Errorf("%+v matches = %v, want %v", tc.rule, got, tc.want)
		}
	}
}
