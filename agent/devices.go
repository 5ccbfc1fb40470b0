package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/host"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// BuildDevices turns the configured devices into drivers. It checks what the
// config package cannot: that each address parses, that the driver exists and
// accepts that kind of address, and that its options are known. Every mistake
// is reported, with the line of the setting, as config.Errors.
func BuildDevices(cfg *config.Agent, lines *config.Lines, hostSource host.Source) ([]collector.Device, error) {
	var out []collector.Device
	var errs config.Errors
	for i, d := range cfg.Devices {
		p := fmt.Sprintf("devices[%d]", i)
		addr, err := transport.Parse(d.Address)
		if err != nil {
			errs = append(errs, lines.Error(p+".address", "%v", err))
			continue
		}
		addr.Exclusive = d.Exclusive
		spec := drivers.Spec{
			ID: d.ID, Kind: d.Kind, Address: addr, Timeout: d.Timeout,
			Options:  drivers.NewOptions(d.Options),
			Expected: expected(d.Expect),
		}
		prober, err := drivers.New(d.Driver, spec)
		if err != nil {
			path := p + ".driver"
			if strings.Contains(err.Error(), "option ") {
				path = p + ".options"
			}
			for _, e := range splitJoined(err) {
				errs = append(errs, lines.Error(path, "%v", e))
			}
			continue
		}
		// The configured timeout bounds each exchange with the device; the
		// collector bounds the whole probe, which may make several.
		out = append(out, collector.Device{
			ID: d.ID, Kind: d.Kind, Driver: d.Driver, Resource: addr.Resource(),
			Interval: d.Interval, Timeout: drivers.ProbeTimeout(prober, d.Timeout), Debounce: d.Debounce, BusyLimit: d.BusyLimit,
			Expected: spec.Expected, Prober: prober,
		})
	}
	if h := cfg.Host; h != nil {
		hc := host.Config{MinMemAvailPct: h.MinMemAvailPct, Processes: h.Processes}
		for _, d := range h.Disks {
			hc.Disks = append(hc.Disks, host.Disk{Path: d.Path, MinFreePercent: d.MinFreePercent})
		}
		out = append(out, collector.Device{
			ID: config.HostDeviceID, Kind: "pos_pc", Driver: "host", Resource: "host",
			Interval: h.Interval, Timeout: min(h.Interval, hostTimeout),
			Debounce: cfg.Polling.Debounce, Prober: host.New(hc, hostSource),
		})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// hostTimeout bounds one round of host checks: listing processes on a busy
// Windows PC can take seconds.
const hostTimeout = 30 * time.Second

// splitJoined undoes errors.Join so each problem gets its own line.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	// drivers.New wraps the factory's joined error in "driver x: ...".
	if inner := errors.Unwrap(err); inner != nil {
		if j, ok := inner.(interface{ Unwrap() []error }); ok {
			prefix := strings.TrimSuffix(err.Error(), inner.Error())
			var out []error
			for _, e := range j.Unwrap() {
				out = append(out, fmt.Errorf("%s%w", prefix, e))
			}
			return out
		}
	}
	return []error{err}
}

func expected(id *config.Identity) *wire.Identity {
	if id == nil {
		return nil
	}
	return &wire.Identity{Vendor: id.Vendor, Model: id.Model, Serial: id.Serial, Firmware: id.Firmware}
}

// Inventory describes the store and its devices for the hub, with each
// device's current state and identity.
func Inventory(cfg *config.Agent, states []collector.State, agentVersion string) wire.Inventory {
	return withStates(inventoryBase(cfg, agentVersion), states)
}

// inventoryBase is the inventory without the devices' states: what the
// configuration says, which does not change while the agent runs. The
// agent builds it once (parsing every device's address to hide secrets is
// not free) and adds the states for each inventory it publishes.
func inventoryBase(cfg *config.Agent, agentVersion string) wire.Inventory {
	hours, _ := wire.ParseTradingHours(cfg.Site.Hours) // validated at load
	inv := wire.Inventory{
		Header:       wire.Header{AgentID: wire.AgentID{Tenant: cfg.Tenant, Store: cfg.Store, Agent: cfg.ID}},
		AgentVersion: agentVersion,
		StoreInfo: wire.StoreInfo{
			Name: cfg.Site.Name, Address: cfg.Site.Address, Country: cfg.Site.Country,
			TimeZone: cfg.Site.TimeZone, Hours: hours,
		},
	}
	add := func(id, kind, driver, address, location, criticality string, exp *wire.Identity) {
		inv.Devices = append(inv.Devices, wire.DeviceInfo{ID: id, Kind: kind, Driver: driver, Address: address, Location: location,
			Criticality: wire.Criticality(criticality), Expected: exp, State: wire.StateUnknown})
	}
	for _, d := range cfg.Devices {
		address := d.Address
		if a, err := transport.Parse(d.Address); err == nil {
			address = a.String() // secrets removed
		}
		add(d.ID, d.Kind, d.Driver, address, d.Location, d.Criticality, expected(d.Expect))
	}
	if h := cfg.Host; h != nil {
		add(config.HostDeviceID, "pos_pc", "host", "local:", h.Location, h.Criticality, nil)
	}
	return inv
}

// withStates returns base with each device's state, identity and holder;
// base's device list is copied, not changed.
func withStates(base wire.Inventory, states []collector.State) wire.Inventory {
	byID := make(map[string]*collector.State, len(states))
	for i := range states {
		byID[states[i].ID] = &states[i]
	}
	inv := base
	inv.Devices = make([]wire.DeviceInfo, len(base.Devices))
	copy(inv.Devices, base.Devices)
	for i := range inv.Devices {
		d := &inv.Devices[i]
		if s, ok := byID[d.ID]; ok {
			d.State, d.Identity = s.State, s.Identity
			if s.State == wire.StateBusy {
				d.Holder = s.Holder
			}
		}
	}
	return inv
}
