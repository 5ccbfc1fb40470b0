package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/config"
	_ "github.com/storewatch/storewatch/drivers/netprobe"
	"github.com/storewatch/storewatch/wire"
)

func load(t *testing.T, yaml string) (*config.Agent, *config.Lines) {
	t.Helper()
	cfg, lines, err := config.Parse("agent.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg, lines
}

const base = `tenant: acme
store: s1
agent: a1
site:
  name: Acme One
  timezone: Europe/Berlin
  hours: {mon-sat: 08:00-20:00}
host:
  disks: [{path: /, min_free_percent: 10}]
devices:
  - {id: pc1, kind: pos_pc, driver: netprobe, address: 'tcp://10.0.0.1:445', location: lane 1, criticality: high}
  - {id: web, kind: network_device, driver: netprobe, address: 'http://10.0.0.2/health?token=s3cret'}
`

func TestBuildDevicesIncludesTheHost(t *testing.T) {
	cfg, lines := load(t, base)
	devs, err := BuildDevices(cfg, lines, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range devs {
		ids = append(ids, d.ID+"@"+d.Resource)
	}
	if got := strings.Join(ids, " "); got != "pc1@tcp:10.0.0.1:445 web@http:10.0.0.2 host@host" {
		t.Errorf("devices = %s", got)
	}
}

func TestInventoryDescribesStoreAndDevices(t *testing.T) {
	cfg, _ := load(t, base)
	inv := Inventory(cfg, []collector.State{{ID: "pc1", State: wire.StateOK, Identity: &wire.Identity{Model: "PC-1"}}}, "1.2.3")
	if inv.StoreInfo.TimeZone != "Europe/Berlin" || len(inv.StoreInfo.Hours) != 6 || inv.AgentVersion != "1.2.3" {
		t.Errorf("store info = %+v", inv.StoreInfo)
	}
	if len(inv.Devices) != 3 || inv.Devices[2].ID != "host" {
		t.Fatalf("devices = %+v", inv.Devices)
	}
	pc := inv.Devices[0]
	if pc.State != wire.StateOK || pc.Identity.Model != "PC-1" || pc.Criticality != wire.CriticalityHigh || pc.Location != "lane 1" {
		t.Errorf("pc1 = %+v", pc)
	}
	if inv.Devices[1].State != wire.StateUnknown {
		t.Errorf("unpolled device state = %s", inv.Devices[1].State)
	}
	if strings.Contains(inv.Devices[1].Address, "s3cret") {
		t.Errorf("inventory leaks a secret: %s", inv.Devices[1].Address)
	}
	// The inventory must be a valid wire message once the uplink stamps it.
	inv.Time = time.Now()
	if _, err := wire.Encode(&inv); err != nil {
		t.Errorf("inventory does not encode: %v", err)
	}
}

// The agent builds the inventory's configuration part once; each inventory
// it publishes adds the states of that moment without changing the base.
func TestInventoryBaseIsReused(t *testing.T) {
	cfg, _ := load(t, base)
	b := inventoryBase(cfg, "1.2.3")
	first := withStates(b, []collector.State{{ID: "pc1", State: wire.StateFault}})
	second := withStates(b, []collector.State{{ID: "pc1", State: wire.StateOK}})
	if first.Devices[0].State != wire.StateFault || second.Devices[0].State != wire.StateOK || b.Devices[0].State != wire.StateUnknown {
		t.Errorf("states: first %s, second %s, base %s", first.Devices[0].State, second.Devices[0].State, b.Devices[0].State)
	}
}
