package agent

import (
	"context"
	"os"
	"reflect"
	"time"

	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/host"
	"github.com/storewatch/storewatch/wire"
)

// loadSavedHubConfig reads the local file's content and, when the hub's
// last good configuration is kept, merges it in (cfg and lines change).
func (a *Agent) loadSavedHubConfig(file string, cfg **config.Agent, lines **config.Lines) error {
	local, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	a.local = local
	saved, err := SavedHubConfig(*cfg)
	if err != nil || saved == nil {
		return err
	}
	dc, err := VerifyHubConfig(saved, a.idOf(*cfg), (*cfg).Remote.HubPublicKey, time.Time{})
	if err == nil {
		var hc *HubConfigured
		if hc, err = ApplyHubConfig(file, local, dc); err == nil {
			hc.Config.Polling = (*cfg).Polling // the caller's, as it may have changed them (devices: no grace)
			*cfg, *lines = hc.Config, hc.Lines
			a.hub = dc
			a.state = wire.ConfigState{Version: dc.Version, Source: "hub"}
			a.log.Info("devices from the hub", "version", dc.Version, "profiles", dc.Profiles)
			return nil
		}
	}
	return err
}

func (a *Agent) idOf(c *config.Agent) wire.AgentID {
	return wire.AgentID{Tenant: c.Tenant, Store: c.Store, Agent: c.ID}
}

// onConfig takes a configuration message on the MQTT client's goroutine:
// only the newest waits to be applied.
func (a *Agent) onConfig(payload []byte) {
	p := append([]byte(nil), payload...)
	for {
		select {
		case a.pushes <- p:
			return
		default:
		}
		select {
		case <-a.pushes: // an older one not applied yet: the new one replaces it
		default:
		}
	}
}

// poll runs the collector until ctx ends, swapping it for one with the
// hub's devices whenever a configuration from the hub applies.
func (a *Agent) poll(ctx context.Context) error {
	for {
		col := a.Collector()
		cctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- col.Run(cctx) }()
	wait:
		for {
			select {
			case err := <-done:
				stop()
				return err
			case payload := <-a.pushes:
				if a.apply(payload) {
					// The old collector stops and flushes its last
					// samples; the new one starts at once, without a
					// start-up grace (the store is not starting).
					stop()
					if err := <-done; err != nil && ctx.Err() == nil {
						a.log.Warn("polling stopped with an error while changing configuration", "err", err)
					}
					a.publishInventory()
					break wait
				}
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// apply checks a configuration from the hub and, when it is good, makes
// it the agent's: the new collector is in place when apply returns true.
// When it is not, the agent keeps what it runs and reports why.
func (a *Agent) apply(payload []byte) bool {
	a.mu.Lock()
	cur, after := a.cfg, a.hubIssued()
	a.mu.Unlock()
	dc, err := VerifyHubConfig(payload, a.idOf(cur), cur.Remote.HubPublicKey, after)
	if err == nil && a.hubVersion() == dc.Version {
		return false // the retained message again, at a reconnect
	}
	var hc *HubConfigured
	if err == nil {
		hc, err = ApplyHubConfig(a.opts.ConfigFile, a.local, dc)
	}
	var devs []collector.Device
	if err == nil {
		devs, err = BuildDevices(hc.Config, hc.Lines, host.System())
	}
	if err != nil {
		failed := ""
		if dc != nil {
			failed = dc.Version
		}
		a.mu.Lock()
		a.state.Error, a.state.Failed = err.Error(), failed
		a.mu.Unlock()
		a.log.Error("configuration from the hub not applied; keeping the last good one", "version", failed, "err", err)
		return false
	}
	if err := saveHubConfig(hc.Config, payload); err != nil {
		a.log.Warn("the configuration from the hub applies but cannot be kept for the next start", "err", err)
	}
	col := a.newCollector(hc.Config, devs, 0)
	a.mu.Lock()
	newScan := !reflect.DeepEqual(a.cfg.Discovery, hc.Config.Discovery)
	a.cfg, a.col, a.hub = hc.Config, col, dc
	a.refound()
	a.state = wire.ConfigState{Version: dc.Version, Source: "hub"}
	a.mu.Unlock()
	if a.remote != nil {
		if err := a.remote(hc.Config); err != nil {
			a.log.Error("remote queries after the new configuration", "err", err)
		}
	}
	a.log.Info("configuration from the hub applied", "version", dc.Version, "profiles", dc.Profiles, "devices", len(devs))
	if newScan {
		select {
		case a.rediscover <- struct{}{}:
		default: // one is due already
		}
	}
	return true
}

// hubIssued is when the hub's configuration the agent runs was issued
// (zero: none); a.mu is held.
func (a *Agent) hubIssued() (t time.Time) {
	if a.hub != nil {
		return a.hub.Issued
	}
	return t
}

func (a *Agent) hubVersion() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hub == nil {
		return ""
	}
	return a.hub.Version
}
