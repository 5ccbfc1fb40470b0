package helpdesk_test

import (
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	_ "github.com/storewatch/storewatch/hub/helpdesk/all"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

func exampleConfig(t *testing.T) helpdesk.Config {
	t.Helper()
	data, err := os.ReadFile("testdata/helpdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := helpdesktest.Parse(data)
	if err != nil {
		t.Fatalf("the example does not validate:\n%v", err)
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
	for i, typ := range []string{"redmine", "webhook", "email"} {
		if h := c.Helpdesks[i]; h.Type != typ || h.Settings == nil {
			t.Errorf("helpdesk %d: type %q, settings %+v", i, h.Type, h.Settings)
		}
	}
}

// The section's own mistakes; each connector's tests have those of its
// settings.
func TestConfigMistakes(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown setting", "outbox: {path: x, retries: 3}", "field retries not found"},
		{"no helpdesk type", "helpdesks: [{name: a}]\noutbox: {path: x}", `helpdesks[0].type: "": want email, redmine or webhook`},
		{"an unknown type", "helpdesks: [{name: a, type: jira}]\noutbox: {path: x}", `helpdesks[0].type: "jira": want email, redmine or webhook`},
		{"section missing", "helpdesks: [{name: a, type: redmine}]\noutbox: {path: x}", "helpdesks[0].redmine: required for type redmine"},
		{"another type's section", "helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}, email: {}}]\noutbox: {path: x}",
			`line 1: a helpdesk of type "webhook" takes no email section`},
		{"unknown helpdesk setting", "helpdesks: [{name: a, type: webhook, url: 'https://x'}]\noutbox: {path: x}", `unknown setting "url" (in a helpdesk: name, type and the section of its type, one of email, redmine or webhook)`},
		{"unknown connector setting", "helpdesks: [{name: a, type: webhook, webhook: {url: 'https://x', secrett: x}}]\noutbox: {path: x}", `line 1: unknown setting "secrett" (in webhook)`},
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
		helpdesktest.WantMistake(t, tc.name, tc.yaml, tc.want)
	}
}

func TestRouting(t *testing.T) {
	rt := helpdesk.NewRouter(exampleConfig(t).Routing)
	// Monday 2026-03-02: 10:00 UTC is 11:00 in Berlin, 18:00 in Manila;
	// 20:00 UTC is 21:00 in Berlin and 04:00 Tuesday in Manila; 23:30 UTC is
	// 07:30 Tuesday in Manila.
	mon10, mon20, mon2330 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC)
	base := helpdesktest.Incident("0042", "prn1", wire.FaultPaperOut)
	with := func(edit func(*tickets.Brief)) tickets.Brief { in := base; edit(&in); return in }
	for _, tc := range []struct {
		name string
		in   tickets.Brief
		at   time.Time
		want helpdesk.Destination
	}{
		{"a German head fault goes to the technician partner", with(func(in *tickets.Brief) { in.Fault = wire.FaultHeadFault }), mon10,
			helpdesk.Destination{Rule: "technician jobs go to the field-service partner", Helpdesk: "fsm-partner"}},
		{"an explicit dispatch remedy counts too", with(func(in *tickets.Brief) { in.Remedy = wire.RemedyDispatch }), mon10,
			helpdesk.Destination{Rule: "technician jobs go to the field-service partner", Helpdesk: "fsm-partner"}},
		{"a Russian head fault is not the partner's", with(func(in *tickets.Brief) {
			in.Fault, in.Country, in.TimeZone = wire.FaultHeadFault, "RU", "Asia/Yekaterinburg"
		}), mon10,
			helpdesk.Destination{Rule: "default", Helpdesk: "redmine", AssigneeGroup: "first-line"}},
		{"tenant bolt stays in the hub", with(func(in *tickets.Brief) { in.Tenant = "bolt" }), mon10,
			helpdesk.Destination{Rule: "bolt keeps its tickets in the hub", Helpdesk: helpdesk.None}},
		{"Austria by mail in German", with(func(in *tickets.Brief) { in.Country, in.TimeZone = "AT", "Europe/Vienna" }), mon10,
			helpdesk.Destination{Rule: "austrian stores by mail, in German", Helpdesk: "mail", Project: "filialen@helpdesk.example.at", Language: "de"}},
		{"Berlin office hours: Berlin takes it", base, mon10,
			helpdesk.Destination{Rule: "everything else follows the sun", Helpdesk: "redmine", AssigneeGroup: "first-line", Team: "berlin"}},
		{"Berlin evening, Manila night: nobody, the rule's own fields", base, mon20,
			helpdesk.Destination{Rule: "everything else follows the sun", Helpdesk: "redmine"}},
		{"Manila morning: Manila takes it", base, mon2330,
			helpdesk.Destination{Rule: "everything else follows the sun", Helpdesk: "redmine", AssigneeGroup: "manila-desk", Team: "manila"}},
		{"a store offline in Europe follows the sun", with(func(in *tickets.Brief) { in.Device, in.Fault = "", wire.FaultAgentOffline }), mon10,
			helpdesk.Destination{Rule: "everything else follows the sun", Helpdesk: "redmine", AssigneeGroup: "first-line", Team: "berlin"}},
		{"outside Europe: the default", with(func(in *tickets.Brief) { in.Country, in.TimeZone = "US", "America/New_York" }), mon10,
			helpdesk.Destination{Rule: "default", Helpdesk: "redmine", AssigneeGroup: "first-line"}},
	} {
		if got := rt.Route(tc.in, tc.at); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	if got := helpdesk.NewRouter(helpdesk.Routing{}).Route(base, mon10); got.Helpdesk != helpdesk.None {
		t.Errorf("no routing at all: %+v, want the built-in list", got)
	}
}

func TestRuleMatchesEveryField(t *testing.T) {
	in := helpdesktest.Incident("0042", "prn1", wire.FaultPaperOut)
	in.Region = "north"
	for _, tc := range []struct {
		rule helpdesk.Rule
		want bool
	}{
		{helpdesk.Rule{}, true},
		{helpdesk.Rule{Tenants: []string{"acme"}}, true},
		{helpdesk.Rule{Tenants: []string{"bolt"}}, false},
		{helpdesk.Rule{Stores: []string{"acme/0042"}}, true},
		{helpdesk.Rule{Stores: []string{"0042"}}, true},
		{helpdesk.Rule{Stores: []string{"0043"}}, false},
		{helpdesk.Rule{Countries: []string{"AT", "DE"}}, true},
		{helpdesk.Rule{Regions: []string{"south"}}, false},
		{helpdesk.Rule{Regions: []string{"north"}}, true},
		{helpdesk.Rule{TimeZones: []string{"Europe/*"}}, true},
		{helpdesk.Rule{TimeZones: []string{"Europe/Berlin"}}, true},
		{helpdesk.Rule{TimeZones: []string{"Europe/Ber*"}}, false}, // only whole-segment prefixes
		{helpdesk.Rule{Kinds: []string{"scale"}}, false},
		{helpdesk.Rule{Kinds: []string{"receipt_printer"}}, true},
		{helpdesk.Rule{Kinds: []string{"store"}}, false},
		{helpdesk.Rule{Faults: []string{"paper_out"}, Remedies: []string{"store"}}, true},
		{helpdesk.Rule{Faults: []string{"paper_out"}, Remedies: []string{"dispatch"}}, false},
	} {
		if got := tc.rule.Matches(in); got != tc.want {
			t.Errorf("%+v matches = %v, want %v", tc.rule, got, tc.want)
		}
	}
}
