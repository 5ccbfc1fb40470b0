//go:build unix

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/internal/testkit/lantest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// A profile at the hub allows an enrolled agent to scan its store's
// network: over real MQTT the agent gets it, scans at once, and the hub
// lists what answers (an ESC/POS and a ZPL printer, a ZVT terminal, a PC)
// as found, not monitored, with kind, driver, identity and an address;
// the printer the agent monitors is left alone. A device the profile
// then adds leaves the list as the agent applies it.
func TestProfileAllowsANetworkScanAndTheHubListsWhatAnswers(t *testing.T) {
	s := lantest.New(t)
	h := startEnrolHub(t)
	_, agentCfg := storePC(t, 5, fmt.Sprintf("  - {id: receipt-office, kind: receipt_printer, driver: escpos, address: 'tcp://%s:9100'}\n", s.Kept))
	agent := enrolledAgent(t, h, agentCfg)
	if a := h.agent("acme/S0042/main"); hasNetworkFind(a.Found) {
		t.Fatalf("found on the network before any profile allowed a scan: %+v", a.Found)
	}

	profile := `tenant: acme
name: store-network
stores: ["S00*"]
devices: []
discovery:
  networks: ["{{.lan}}"]
  rate: 200
  timeout: 500ms
values:
  S0042: {lan: %s}
`
	h.storehub("profiles", "put", write(t, "network.yaml", fmt.Sprintf(profile, s.Net)))
	want := map[string]string{
		"tcp://" + s.Receipt.String() + ":9100":   "receipt_printer/escpos",
		"tcp://" + s.Label.String() + ":9100":     "label_printer/zpl",
		"tcp://" + s.Terminal.String() + ":20007": "payment_terminal/zvt",
		"tcp://" + s.PC.String() + ":3389":        "pos_pc/netprobe",
	}
	var a *api.AgentView
	testenv.WaitFor(t, 60*time.Second, "the store network's devices found at the hub", func() bool {
		a = h.agent("acme/S0042/main")
		n := 0
		for _, f := range a.Found {
			if want[f.Address] == f.Kind+"/"+f.Driver {
				n++
			}
		}
		return n == len(want)
	})
	for _, f := range a.Found {
		if strings.Contains(f.Address, s.Kept.String()) {
			t.Errorf("the monitored printer is listed as found: %+v", f)
		}
		if f.Address == "tcp://"+s.Receipt.String()+":9100" && (f.Vendor != "EPSON" || f.Serial == "") {
			t.Errorf("the receipt printer without its identity: %+v", f)
		}
	}
	if out := h.storehub("profiles", "show", "acme/S0042/main"); !strings.Contains(out, "# discovery:") || !strings.Contains(out, s.Net.String()) {
		t.Errorf("storehub profiles show does not say which network the agent may scan:\n%s", out)
	}
	if !strings.Contains(agent.Output(), "network scan") {
		t.Error("the agent does not log its scan")
	}

	// The receipt printer added by a profile (as the console's Add does):
	// the agent applies it and it is no longer found.
	h.storehub("profiles", "put", write(t, "network.yaml", fmt.Sprintf(strings.Replace(profile, "devices: []",
		"devices:\n  - {id: receipt-lane1, kind: receipt_printer, driver: escpos, address: 'tcp://"+s.Receipt.String()+":9100'}", 1), s.Net)))
	testenv.WaitFor(t, 30*time.Second, "the added printer no longer found", func() bool {
		a = h.agent("acme/S0042/main")
		for _, f := range a.Found {
			if strings.Contains(f.Address, s.Receipt.String()) {
				return false
			}
		}
		return hasNetworkFind(a.Found)
	})
}

func hasNetworkFind(found []wire.Found) bool {
	for _, f := range found {
		if strings.HasPrefix(f.Address, "tcp://") || strings.HasPrefix(f.Address, "snmp://") {
			return true
		}
	}
	return false
}
