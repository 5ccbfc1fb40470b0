package agent

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/storewatch/storewatch/agent/netscan"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/wire"
)

// DiscoverEvery is how often the running agent looks for devices nothing
// monitors (serial ports and USB devices, and devices on the store
// networks discovery.networks allows it to scan), for "found, not
// monitored" at the hub.
const DiscoverEvery = time.Hour

// discoverer finds devices: serial ports and USB devices, and what
// answers on a store network.
type discoverer struct {
	local func(context.Context) (usbinv.Report, error)
	scan  func(context.Context, netscan.Options) (netscan.Report, error)
}

// discoverLoop runs discovery at start, then every DiscoverEvery and when
// the hub changes the discovery settings, and republishes the inventory
// with what it found.
func (a *Agent) discoverLoop(ctx context.Context, d discoverer) {
	t := time.NewTicker(DiscoverEvery)
	defer t.Stop()
	for {
		a.discover(ctx, d)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.rediscover:
			t.Reset(DiscoverEvery)
		}
	}
}

// discover runs one round: the serial ports and USB devices first (they
// are published at once), then the network scan where the configuration
// allows one (a minute or so at the default rate). The configuration is
// read at the start of each part and again at its end, so a device the
// hub adds meanwhile is not reported as found.
func (a *Agent) discover(ctx context.Context, d discoverer) {
	rep, err := d.local(ctx)
	if err != nil && ctx.Err() == nil {
		a.log.Warn("device discovery failed", "err", err)
	} else if err == nil {
		a.mu.Lock()
		a.localFound = &rep
		a.refound()
		a.mu.Unlock()
		a.publishInventory()
	}
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	o, ok, err := netscan.FromConfig(cfg.Discovery)
	if err != nil {
		a.log.Warn("network scan not run", "err", err)
		return
	}
	if !ok {
		a.mu.Lock()
		a.netFound = nil // a scan no longer allowed: its finds go too
		a.refound()
		a.mu.Unlock()
		return
	}
	o.Skip = netscan.Monitored(cfg.Devices)
	nrep, err := d.scan(ctx, o)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("network scan failed", "err", err)
		}
		return
	}
	a.log.Info("network scan", "networks", cfg.Discovery.Networks, "addresses", nrep.Scanned, "left_alone", nrep.Skipped,
		"attempts", nrep.Attempts, "answered", len(nrep.Found))
	a.mu.Lock()
	a.netFound = &nrep
	a.refound()
	a.mu.Unlock()
	a.publishInventory()
}

// refound sets what discovery last found that the configuration the
// agent runs does not monitor (a.mu is held): after each discovery, and
// when a configuration from the hub applies, so that a device just added
// from the console leaves "found, not monitored" at once.
func (a *Agent) refound() {
	var out []wire.Found
	if a.localFound != nil {
		out = Unmonitored(*a.localFound, a.cfg)
	}
	if a.netFound != nil {
		out = append(out, UnmonitoredNet(*a.netFound, a.cfg)...)
	}
	if len(out) > wire.MaxFound {
		out = out[:wire.MaxFound]
	}
	a.found = out
}

// UnmonitoredNet is what a network scan found at addresses no configured
// device uses (the scan leaves those alone, but the configuration may
// have changed while it ran).
func UnmonitoredNet(rep netscan.Report, cfg *config.Agent) []wire.Found {
	skip := netscan.Monitored(cfg.Devices)
	var out []wire.Found
	for _, f := range rep.Found {
		if skip(f.IP) || len(out) >= wire.MaxFound {
			continue
		}
		out = append(out, wire.Found{Kind: f.Kind, Driver: f.Driver, Address: f.Address, Vendor: f.Vendor, Model: f.Model,
			Serial: f.Serial, Note: noteWithPorts(f)})
	}
	return out
}

// noteWithPorts is the scan's note and the ports that answered.
func noteWithPorts(f netscan.Found) string {
	var ports []string
	for _, p := range f.Open {
		ports = append(ports, netip.AddrPortFrom(f.IP, uint16(p)).String())
	}
	return f.Note + " (open: " + strings.Join(ports, ", ") + ")"
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
