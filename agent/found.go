package agent

import (
	"context"
	"strings"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/wire"
)

// DiscoverEvery is how often the running agent looks for devices nothing
// monitors (serial ports and USB devices), for "found, not monitored" at
// the hub.
const DiscoverEvery = time.Hour

// discoverLoop runs discovery at start and then every DiscoverEvery, and
// republishes the inventory with what it found.
func (a *Agent) discoverLoop(ctx context.Context, discover func(context.Context) (usbinv.Report, error)) {
	t := time.NewTicker(DiscoverEvery)
	defer t.Stop()
	for {
		rep, err := discover(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("device discovery failed", "err", err)
		} else if err == nil {
			a.mu.Lock()
			a.found = Unmonitored(rep, a.cfg)
			a.mu.Unlock()
			a.publishInventory()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Unmonitored is what discovery found that no configured device watches:
// a device is watched when a configured address names its port, its USB
// identity (VID:PID, with its serial number when it has one) or the
// address discovery suggests.
func Unmonitored(rep usbinv.Report, cfg *config.Agent) []wire.Found {
	var out []wire.Found
	for _, f := range rep.Found {
		addr := f.Address
		if addr == "" && f.Port != "" {
			addr = "serial://" + f.Port
		}
		if addr == "" {
			continue
		}
		var keys []string
		keys = append(keys, addr)
		if f.Port != "" {
			keys = append(keys, f.Port)
		}
		wf := wire.Found{Kind: f.Kind, Driver: f.Driver, Address: addr, Vendor: f.Vendor, Model: f.Model, Note: f.Note}
		if d := f.Device; d != nil {
			wf.Serial = d.Serial
			if d.Serial != "" {
				keys = append(keys, d.Serial)
			} else {
				keys = append(keys, d.ID())
			}
		}
		if !watched(cfg, keys) && len(out) < wire.MaxFound {
			out = append(out, wf)
		}
	}
	return out
}

func watched(cfg *config.Agent, keys []string) bool {
	for _, d := range cfg.Devices {
		for _, k := range keys {
			if k != "" && strings.Contains(strings.ToLower(d.Address), strings.ToLower(k)) {
				return true
			}
		}
	}
	return false
}
