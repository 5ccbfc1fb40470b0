//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/testkit/mqttloss"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// A broker loses a paper-out it had acknowledged to the agent (a relay in
// front of the hub's broker acknowledges it and drops it, as a broker node
// dying with it would). The hub sees the agent's next heartbeat skip a
// number, asks the agent for it in a signed request, and the real agent
// publishes it again from the events it keeps after delivery: the incident
// opens, once.
func TestAnEventTheBrokerLostIsAskedForAgainAndOpensItsIncident(t *testing.T) {
	printer := escpos.New()
	srv, err := devsim.ServeTCP(context.Background(), printer, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var relay *mqttloss.Relay
	var lostOne atomic.Bool
	h := startEnrolHubWith(t, "policy: {rules: {paper_out: {hold_down: 0s, hold_up: 0s}}}\n", func(broker string) string {
		relay, err = mqttloss.Start(broker, func(p mqttloss.Publish) bool {
			return strings.HasSuffix(p.Topic, "/events") && bytes.Contains(p.Payload, []byte(`"paper_out"`)) && lostOne.CompareAndSwap(false, true)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(relay.Close)
		return "tcp://" + relay.Addr
	})
	_, cfg := storePC(t, 5, fmt.Sprintf("  - {id: receipt-lane2, kind: receipt_printer, driver: escpos, address: 'tcp://%s'}\n", srv.Addr))
	agent := enrolledAgent(t, h, cfg)

	printer.Switchboard().Set(escpos.PaperOut, true)
	testenv.WaitFor(t, 20*time.Second, "the relay to lose the paper-out", func() bool { return relay.Lost() == 1 })
	lostAt := time.Now()
	testenv.WaitFor(t, 90*time.Second, "the paper-out incident", func() bool { return len(incidents(t, h.api)) > 0 })
	t.Logf("the incident opened %v after the broker lost its event", time.Since(lostAt).Round(time.Second))
	if got := incidents(t, h.api); len(got) != 1 || got[0].Device != "receipt-lane2" {
		t.Errorf("incidents: %+v", got)
	}
	if !strings.Contains(agent.Output(), "events published again at the hub's request") {
		t.Errorf("the agent's log does not show the resend:\n%s", agent.Output())
	}
	var asked bool
	for _, e := range auditTrail(t, h.api) {
		asked = asked || (e.Op == "resend" && e.Who == query.Resender && e.Event == store.AuditRequest)
	}
	if !asked {
		t.Errorf("the audit trail does not show the resend request: %+v", auditTrail(t, h.api))
	}
	a := h.agent("acme/S0042/main")
	if a == nil || a.Outstanding != 0 || a.Seq.Late == 0 {
		t.Errorf("the agent's sequence window after the resend: %+v", a)
	}
}

// auditTrail is GET /api/v1/audit.
func auditTrail(t *testing.T, api string) []store.AuditEntry {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+api+"/api/v1/audit", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []store.AuditEntry
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
