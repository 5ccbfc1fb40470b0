package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/enrol"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// The Agents page shows the fleet (enrolled agents before they connect
// too) and which agents are behind, and why.
func TestAgentsPageShowsTheFleetAndWhoIsBehind(t *testing.T) {
	h, base := startHub(t, `enrolment: {broker_urls: ["tcp://127.0.0.1:1883"]}`)
	tok, err := h.Enrol.CreateToken(enrol.TokenRequest{Tenant: "acme"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"s0043", "s0044"} {
		if _, err := h.Enrol.Enrol(&wire.EnrolRequest{V: 1, Token: tok.Token, Store: st, Agent: "main", Hostname: "PC-" + st}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	report := func(id wire.AgentID, version string, cfg *wire.ConfigState) {
		for _, step := range []func(e *incident.Engine) incident.Changes{
			func(e *incident.Engine) incident.Changes {
				c, _ := e.Status(&wire.Status{Header: wire.Header{AgentID: id, Boot: "b1", Time: now}, State: wire.PresenceOnline, Version: version,
					OS: "windows/amd64", Conn: 1}, now)
				return c
			},
			func(e *incident.Engine) incident.Changes {
				c, _ := e.Metrics(&wire.Metrics{Header: wire.Header{AgentID: id, Boot: "b1", Seq: 1, Time: now},
					Heartbeat: &wire.Heartbeat{OutboxDepth: 3, Config: cfg}}, now)
				return c
			},
		} {
			if err := h.Pipeline.Do(context.Background(), func(e *incident.Engine) (incident.Changes, error) { return step(e), nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	report(wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice-1"}, "1.4.0", &wire.ConfigState{Version: "local-0123456789ab", Source: "local"})
	report(wire.AgentID{Tenant: "acme", Store: "s0043", Agent: "main"}, "1.3.2",
		&wire.ConfigState{Version: "hub-3", Source: "hub", Failed: "hub-4", Error: "devices[1].address: unknown scheme"})

	b := newBrowser(t, base)
	b.login(viewerToken)
	resp, page := b.do("GET", "/console/agents", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{"3 agents, 1 behind", "acme/s0042</a>/backoffice-1", "windows/amd64", "local-0123456789ab (local)",
		"behind: version 1.3.2, the fleet&#39;s newest is 1.4.0", "hub-4 not applied: devices[1].address: unknown scheme", "not seen yet", "PC-s0044"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Agents page lacks %q", want)
		}
	}
	_, page = b.do("GET", "/console/agents?behind=1", nil)
	if !strings.Contains(page, "s0043") || strings.Contains(page, "s0044") || strings.Contains(page, "backoffice-1") {
		t.Errorf("?behind=1 lists more than the agent behind:\n%s", page)
	}
}

// The store page lists what an agent found and nothing monitors; adding
// one puts it in the store's own profile, which the hub assigns to the
// agent.
func TestFoundNotMonitoredIsAddedFromTheStorePage(t *testing.T) {
	h, base := startHub(t, `enrolment: {broker_urls: ["tcp://127.0.0.1:1883"]}`)
	id := wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice-1"}
	now := time.Now().UTC()
	err := h.Pipeline.Do(context.Background(), func(e *incident.Engine) (incident.Changes, error) {
		return e.Inventory(&wire.Inventory{Header: wire.Header{AgentID: id, Time: now}, StoreInfo: wire.StoreInfo{TimeZone: "Europe/Berlin"},
			Found: []wire.Found{{Kind: "receipt_printer", Driver: "escpos", Address: "serial://?usb=04b8:0e28&usbserial=X5Y6Z7", Vendor: "Epson",
				Model: "TM-T88VI", Serial: "X5Y6Z7"}, {Address: "serial:///dev/ttyS0"}}}, now), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	csrf := b.login(engineerToken)
	_, page := b.do("GET", "/console/stores/acme/s0042", nil)
	for _, want := range []string{"Found, not monitored", "usbserial=X5Y6Z7", "Epson TM-T88VI", "serial:///dev/ttyS0", "no driver recognises it"} {
		if !strings.Contains(page, want) {
			t.Errorf("the store page lacks %q", want)
		}
	}
	resp, _ := b.do("POST", "/console/stores/acme/s0042/found", url.Values{"csrf": {csrf}, "agent": {"backoffice-1"}, "id": {"receipt-lane1"},
		"kind": {"receipt_printer"}, "driver": {"escpos"}, "address": {"serial://?usb=04b8:0e28&usbserial=X5Y6Z7"}, "location": {"lane 1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: HTTP %d", resp.StatusCode)
	}
	dc, ok, err := h.Profiles.ConfigFor(id)
	if err != nil || !ok || !strings.Contains(dc.Devices, "id: receipt-lane1") || !strings.Contains(dc.Devices, "location: lane 1") {
		t.Fatalf("the agent's configuration after the add: %+v, %v, %v", dc, ok, err)
	}
	// A viewer may look but not add.
	v := newBrowser(t, base)
	vcsrf := v.login(viewerToken)
	if resp, _ := v.do("POST", "/console/stores/acme/s0042/found", url.Values{"csrf": {vcsrf}, "agent": {"backoffice-1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's add: HTTP %d", resp.StatusCode)
	}
}

// A device the agent's network scan found is added like one on the PC:
// its tcp:// or snmp:// address goes into the store's profile as it is.
func TestNetworkFindIsAddedFromTheStorePage(t *testing.T) {
	h, base := startHub(t, `enrolment: {broker_urls: ["tcp://127.0.0.1:1883"]}`)
	id := wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "main"}
	now := time.Now().UTC()
	err := h.Pipeline.Do(context.Background(), func(e *incident.Engine) (incident.Changes, error) {
		return e.Inventory(&wire.Inventory{Header: wire.Header{AgentID: id, Time: now}, StoreInfo: wire.StoreInfo{TimeZone: "Europe/Berlin"},
			Found: []wire.Found{
				{Kind: "payment_terminal", Driver: "zvt", Address: "tcp://10.0.42.30:20007", Serial: "52500123", Note: "answers a ZVT status enquiry on 20007 (open: 10.0.42.30:20007)"},
				{Kind: "network_printer", Driver: "snmpprinter", Address: "snmp://10.0.42.40", Model: "HP LaserJet Pro M404dn", Serial: "PHBQA12345"},
			}}, now), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	csrf := b.login(engineerToken)
	_, page := b.do("GET", "/console/stores/acme/s0042", nil)
	for _, want := range []string{"tcp://10.0.42.30:20007", "snmp://10.0.42.40", "HP LaserJet Pro M404dn", `value="payment_terminal-0"`, "ZVT status enquiry"} {
		if !strings.Contains(page, want) {
			t.Errorf("the store page lacks %q", want)
		}
	}
	for _, f := range []url.Values{
		{"csrf": {csrf}, "agent": {"main"}, "id": {"pt-lane3"}, "kind": {"payment_terminal"}, "driver": {"zvt"}, "address": {"tcp://10.0.42.30:20007"}},
		{"csrf": {csrf}, "agent": {"main"}, "id": {"office-printer"}, "kind": {"network_printer"}, "driver": {"snmpprinter"}, "address": {"snmp://10.0.42.40"}},
	} {
		if resp, _ := b.do("POST", "/console/stores/acme/s0042/found", f); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add %s: HTTP %d", f.Get("address"), resp.StatusCode)
		}
	}
	dc, ok, err := h.Profiles.ConfigFor(id)
	if err != nil || !ok || !strings.Contains(dc.Devices, "address: tcp://10.0.42.30:20007") || !strings.Contains(dc.Devices, "address: snmp://10.0.42.40") {
		t.Fatalf("the agent's configuration after the adds: %+v, %v, %v", dc, ok, err)
	}
}
