//go:build unix

package redmine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/redmine"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// The whole hub against the real Redmine this test binary shares (no
// second Redmine start-up): a fault that arrives in the hub becomes one
// Redmine issue whose number shows on the incident; a person rejecting the
// issue in Redmine closes the incident, and the fault, still there, opens
// nothing more.
func TestHubFaultBecomesOneRedmineIssue(t *testing.T) {
	desk := redmine.SharedConfig(t)
	desk.Outbox.Path = "" // the hub's data dir
	desk.Outbox.SyncInterval = 100 * time.Millisecond
	section, err := yaml.Marshal(map[string]any{"helpdesk": desk})
	if err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf(`data_dir: %s
api: {listen: "127.0.0.1:0"}
broker: {mode: embedded, embedded: {listen: "127.0.0.1:0"}}
agents: [{tenant: acme, store: s0042, agent: backoffice, password_hash: "$7$1$AA==$AA=="}]
policy: {rules: {paper_jam: {hold_down: 0s}}}
%s`, t.TempDir(), section)
	cfg, err := hub.ParseConfig("hub.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })

	agent := wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice"}
	seq := uint64(0)
	send := func(ch wire.Channel, m wire.Message) {
		t.Helper()
		b, err := wire.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Pipeline.Handle(context.Background(), agent.Topic(ch), b, "test"); err != nil {
			t.Fatal(err)
		}
	}
	head := func() wire.Header {
		return wire.Header{AgentID: agent, Boot: "boot-1", Seq: seq, Time: time.Now().UTC()}
	}
	jam := func(faults ...wire.Fault) {
		seq++
		send(wire.ChannelEvents, &wire.Event{Header: head(), Device: "prn3", Kind: "receipt_printer",
			State: wire.StateOf(faults), Faults: faults, Since: time.Now().UTC()})
	}
	send(wire.ChannelStatus, &wire.Status{Header: head(), State: wire.PresenceOnline})
	send(wire.ChannelInventory, &wire.Inventory{Header: head(), StoreInfo: wire.StoreInfo{Name: "Acme Berlin Mitte", TimeZone: "Europe/Berlin"},
		Devices: []wire.DeviceInfo{{ID: "prn3", Kind: "receipt_printer", Location: "lane 3",
			Identity: &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X5E0000042"}}}})
	jam(wire.NewFault(wire.FaultPaperJam, "DLE EOT 3 = 0x48"))

	var inc incident.Incident
	testenv.WaitFor(t, 60*time.Second, "the Redmine issue on the incident", func() bool {
		live := h.Engine.LiveIncidents()
		if len(live) == 1 {
			inc, _ = h.Store.Incident(live[0].ID)
		}
		return inc.Helpdesk != nil
	})
	issues := redmine.Issues(t, helpdesk.ExternalID(desk.Namespace, inc.Key+"#"+inc.ID))
	if len(issues) != 1 {
		t.Fatalf("%d Redmine issues for %s, want exactly 1", len(issues), inc.ID)
	}
	is := issues[0]
	if fmt.Sprint(is.ID) != inc.Helpdesk.ID || inc.Helpdesk.Helpdesk != "redmine" {
		t.Errorf("issue #%d, the incident shows %+v", is.ID, inc.Helpdesk)
	}
	for _, want := range []string{"Serial number: X5E0000042", "Location:      lane 3", "Paper jam", "Incident key: " + inc.Key} {
		if !strings.Contains(is.Description, want) {
			t.Errorf("the issue lacks %q:\n%s", want, is.Description)
		}
	}

	redmine.Person(t, is.ID, map[string]any{"status_id": redmine.Status(t, "Rejected"), "notes": "Known, the roll is ordered."})
	testenv.WaitFor(t, 30*time.Second, "the person's rejection to close the incident", func() bool {
		inc, _ = h.Store.Incident(inc.ID)
		return inc.State == incident.StateClosed
	})
	if inc.Resolution != incident.ResolutionHelpdesk || inc.Helpdesk.ClosedByPerson != "rejected" {
		t.Errorf("closed as %s, ticket %+v", inc.Resolution, inc.Helpdesk)
	}
	jam(wire.NewFault(wire.FaultPaperJam, "DLE EOT 3 = 0x48"), wire.NewFault(wire.FaultCoverOpen, ""))
	jam(wire.NewFault(wire.FaultPaperJam, "DLE EOT 3 = 0x48"))
	if live := h.Engine.LiveIncidents(); len(live) != 0 {
		t.Errorf("the same jam opened %+v after a person closed its ticket", live)
	}
	if issues := redmine.Issues(t, helpdesk.ExternalID(desk.Namespace, inc.Key+"#"+inc.ID)); len(issues) != 1 || len(issues[0].Journals) != 1 {
		t.Errorf("after the rejection: %d issues, %+v", len(issues), issues)
	}
}
