package hub

import (
	"errors"
	"log/slog"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/enrol"
	"github.com/storewatch/storewatch/hub/profiles"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// startEnrol makes the enrolment service, which brings access (the
// embedded broker's table, or one kept for the Mosquitto files) up to the
// agents enrolled in the store before the broker admits anyone.
func (h *Hub) startEnrol(cfg *Config, st store.Backend, access *broker.Access, log *slog.Logger) (*enrol.Service, error) {
	key, err := cfg.Remote.Key(nil)
	if err != nil {
		return nil, err
	}
	return enrol.New(enrol.Options{Store: st, Config: cfg.Enrol, Log: log, HubPublicKey: key.PublicKey(), Access: access,
		Recheck: func() []wire.AgentID {
			if h.embedded == nil {
				return nil
			}
			return h.embedded.Recheck()
		},
		Enrolled: func(id wire.AgentID) {
			if h.Profiles != nil {
				h.Profiles.Forget(id)
				go h.Profiles.Push(id) // after the answer: the agent subscribes when it connects
			}
		}})
}

// startProfiles makes the device profile service and sends every known
// agent its configuration (the embedded broker keeps no retained message
// across a restart).
func (h *Hub) startProfiles(cfg *Config, st store.Backend, log *slog.Logger) error {
	key, err := cfg.Remote.Key(nil)
	if err != nil {
		return err
	}
	h.Profiles = profiles.New(profiles.Options{Store: st, Key: key, Publish: h.publishRetained, Agents: h.knownAgents, Log: log})
	h.Profiles.PushAll()
	return nil
}

// knownAgents are the agents the hub has heard from and those enrolled
// (not revoked).
func (h *Hub) knownAgents() []wire.AgentID {
	seen := map[wire.AgentID]bool{}
	var out []wire.AgentID
	for _, a := range h.dir.Agents() {
		if id := a.ID(); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if h.Enrol != nil {
		cs, err := h.Enrol.Agents()
		if err != nil {
			h.log.Warn("enrolled agents unknown", "err", err)
		}
		for _, c := range cs {
			id := wire.AgentID{Tenant: c.Tenant, Store: c.Store, Agent: c.Agent}
			if !c.Revoked() && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// publishRetained sends a retained hub message (an agent's device
// configuration) through the broker.
func (h *Hub) publishRetained(topic string, payload []byte) error {
	switch {
	case h.embedded != nil:
		return h.embedded.PublishRetained(topic, payload)
	case h.external != nil:
		return h.external.PublishRetained(topic, payload)
	}
	return errors.New("no broker")
}
