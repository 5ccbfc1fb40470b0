package agent

import (
	"log/slog"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/transport"
	_ "github.com/storewatch/storewatch/drivers/zvt"
)

// A tapped payment terminal's tap follows the ECR's transactions with the
// zvt driver's watcher, so the agent's enquiry never lands in a payment; a
// tapped printer's needs none.
func TestTapConfigTakesTheDriversWatcher(t *testing.T) {
	addr, err := transport.Parse("serial:///dev/ttyS1")
	if err != nil {
		t.Fatal(err)
	}
	tapped := &config.Tap{VirtualPort: "/dev/ttyPOS0", IdleGap: 100 * time.Millisecond, ReplyWait: 500 * time.Millisecond}
	pt := tapConfig(config.Device{ID: "pt", Driver: "zvt", Timeout: 8 * time.Second, Tap: tapped}, addr, slog.Default())
	if pt.Watcher == nil || pt.VirtualPort != "/dev/ttyPOS0" || pt.MaxHold != 8*time.Second || pt.IdleGap != 100*time.Millisecond {
		t.Errorf("zvt tap = %+v, want the driver's watcher and the device's settings", pt)
	}
	if printer := tapConfig(config.Device{ID: "p", Driver: "escpos", Tap: tapped}, addr, slog.Default()); printer.Watcher != nil {
		t.Errorf("escpos tap has a watcher: %+v", printer.Watcher)
	}
}
