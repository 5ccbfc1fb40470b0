//go:build unix

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// A device profile defined at the hub reaches an enrolled agent signed
// over real MQTT and is applied without a restart while its devices'
// events flow: the lane's printer from the profile appears, the hub sees
// the configuration applied, and no event is lost (no sequence gap). A
// profile the agent cannot apply is refused by it; the hub shows why,
// and the agent keeps the last good configuration.
func TestProfileAppliedWhileEventsFlowAndBadProfileRefused(t *testing.T) {
	local, lane := escpos.New(), escpos.New()
	var addrs []string
	for _, p := range []*escpos.Printer{local, lane} {
		srv, err := devsim.ServeTCP(context.Background(), p, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		addrs = append(addrs, srv.Addr)
	}
	h := startEnrolHub(t)
	_, agentCfg := storePC(t, 5, fmt.Sprintf("  - {id: receipt-office, kind: receipt_printer, driver: escpos, address: 'tcp://%s', location: back office}\n", addrs[0]))
	agent := enrolledAgent(t, h, agentCfg)

	// Events flow: the office printer runs out of paper and back, again
	// and again, while the profile is put and applied.
	stop := make(chan struct{})
	var flips atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				local.Switchboard().Set(escpos.PaperOut, false)
				return
			case <-time.After(1500 * time.Millisecond):
				n := flips.Add(1)
				local.Switchboard().Set(escpos.PaperOut, n%2 == 1)
			}
		}
	}()
	profile := write(t, "lane.yaml", fmt.Sprintf(`tenant: acme
name: standard-lane
stores: ["S00*"]
devices:
  - id: receipt-lane{{.lane}}
    kind: receipt_printer
    driver: escpos
    address: tcp://%s
    location: lane {{.lane}}
values:
  S0042: {lane: "3"}
`, addrs[1]))
	h.storehub("profiles", "put", profile)
	var a *api.AgentView
	testenv.WaitFor(t, 30*time.Second, "the profile applied at the agent", func() bool {
		a = h.agent("acme/S0042/main")
		return a != nil && a.ConfigAssigned != "" && a.Heartbeat != nil && a.Heartbeat.Config != nil &&
			a.Heartbeat.Config.Version == a.ConfigAssigned
	})
	testenv.WaitFor(t, 30*time.Second, "the lane's printer from the profile at the hub", func() bool {
		return strings.Contains(h.storehub("devices", "--store", "S0042"), "receipt-lane3")
	})
	after := flips.Load()
	testenv.WaitFor(t, 30*time.Second, "more paper changes after the swap", func() bool { return flips.Load() >= after+3 })
	close(stop)
	<-done
	testenv.WaitFor(t, 30*time.Second, "the office printer back to ok at the hub, every event in", func() bool {
		a = h.agent("acme/S0042/main")
		return strings.Contains(h.storehub("devices", "--store", "S0042", "--state", "ok"), "receipt-office") && a.Outstanding == 0
	})
	// Nothing lost: every number the hub saw skipped over came after all
	// (the hub takes an agent's messages concurrently, so one may arrive
	// after a later one: a gap, then a late arrival), none is missing and
	// none was given up on.
	if s := a.Seq; a.Outstanding != 0 || s.Lost != 0 || s.Gaps != s.Late {
		t.Errorf("the hub lost messages across the configuration change: %d skipped, %d came late, %d missing, %d given up",
			s.Gaps, s.Late, a.Outstanding, s.Lost)
	}
	if !strings.Contains(agent.Output(), "configuration from the hub applied") || strings.Count(agent.Output(), "storeagent started") != 1 {
		t.Errorf("the agent did not apply the profile in place")
	}
	good := a.ConfigAssigned

	// A profile the agent cannot apply: the hub's check passes (it knows
	// no drivers), the agent's does not.
	bad := write(t, "bad.yaml", `tenant: acme
name: scales
stores: ["S0042"]
devices:
  - {id: scale-lane3, kind: scale, driver: no-such-driver, address: 'tcp://127.0.0.1:1'}
`)
	h.storehub("profiles", "put", bad)
	testenv.WaitFor(t, 30*time.Second, "the agent's refusal at the hub", func() bool {
		a = h.agent("acme/S0042/main")
		return a != nil && a.Heartbeat != nil && a.Heartbeat.Config != nil && a.Heartbeat.Config.Error != ""
	})
	c := a.Heartbeat.Config
	if !strings.Contains(c.Error, "no-such-driver") || c.Failed != a.ConfigAssigned || c.Version != good {
		t.Errorf("the hub shows %+v (assigned %s); want the driver named, the bad version failed and %s still running", c, a.ConfigAssigned, good)
	}
	if !strings.Contains(strings.Join(a.Behind, "\n"), "not applied") {
		t.Errorf("the agent is not listed as behind: %v", a.Behind)
	}
	if out := h.storehub("agents", "--behind"); !strings.Contains(out, "acme/S0042/main") || !strings.Contains(out, "no-such-driver") {
		t.Errorf("storehub agents --behind:\n%s", out)
	}
	if !strings.Contains(h.storehub("devices", "--store", "S0042"), "receipt-lane3") {
		t.Error("the last good configuration's device is gone")
	}
}
