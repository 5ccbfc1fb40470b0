package hub

import (
	"log/slog"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/enrol"
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
		}})
}
