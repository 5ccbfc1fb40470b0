package agent

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/devsim"
	emu "github.com/storewatch/storewatch/devsim/sics"
	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/sics"
	"github.com/storewatch/storewatch/internal/testkit/drivertest"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/wire"
)

// Issue 17: a scale that answers each command in 500 ms, configured with a
// 2 s timeout, is ok, not no_response. Its first probe asks six things
// (three seconds together): the configured timeout bounds each exchange,
// and the collector gives the whole probe the driver's ProbeTimeout. The
// path is the agent's own, from the YAML through BuildDevices and the
// collector to the emulator on a PTY.
func TestSlowDeviceIsHealthyUnderItsTimeout(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1.25})
	dev.Switchboard().SetDelay(drivertest.SlowDelay)
	if err := dev.Switchboard().Set(devsim.FaultSlow, true); err != nil {
		t.Fatal(err)
	}
	path := simtest.PTY(t, dev)
	cfg, lines := load(t, fmt.Sprintf(`tenant: acme
store: s1
agent: a1
site: {name: Acme One, timezone: UTC}
polling: {interval: 30s, timeout: %s}
devices:
  - {id: deli-scale, kind: scale, driver: sics, address: 'serial://%s'}
`, drivertest.SlowTimeout, path))
	devs, err := BuildDevices(cfg, lines, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := drivers.ProbeTimeout(devs[0].Prober, drivertest.SlowTimeout); devs[0].Timeout != want || want <= drivertest.SlowTimeout {
		t.Fatalf("collector timeout %v, want the driver's ProbeTimeout %v, more than one exchange's %v", devs[0].Timeout, want, drivertest.SlowTimeout)
	}
	col := collector.New(devs, LogSink{Log: slog.New(slog.DiscardHandler)}, collector.Options{})
	start := time.Now()
	res, err := col.ProbeOnce(context.Background(), "deli-scale")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != wire.StateOK || len(res.Faults) != 0 {
		t.Fatalf("slow scale: state %s, faults %+v (%s); want ok", res.State, res.Faults, res.Detail)
	}
	if took < drivertest.SlowTimeout {
		t.Fatalf("the probe took %v, less than one timeout: it did not make the slow exchanges this test is about", took)
	}
}
