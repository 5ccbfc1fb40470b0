package hub

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/console"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/tickets"
)

func startQueries(cfg *Config, dir query.Directory, st query.Auditor, publish query.Publisher, log *slog.Logger) (*query.Service, error) {
	key, err := cfg.Remote.Key(log)
	if err != nil {
		return nil, err
	}
	origin := "storehub"
	if cfg.Broker.Mode == "external" {
		origin = cfg.Broker.External.ClientID
	}
	return query.New(query.Options{Key: key, Directory: dir, Publish: publish, Audit: st, Log: log,
		Timeout: cfg.Remote.Timeout, Expiry: cfg.Remote.Expiry, PerMinute: cfg.Remote.PerMinute, Origin: origin}), nil
}

// publish sends a hub message (a signed query) through the broker.
func (h *Hub) publish(topic string, payload []byte) error {
	switch {
	case h.embedded != nil:
		return h.embedded.Publish(topic, payload)
	case h.external != nil:
		return h.external.Publish(topic, payload)
	}
	return errors.New("no broker")
}

// withConsole serves the web console under /console/ beside the API.
// The console speaks the tickets' language, with the catalog's words, and
// says times in store time (policy.Display).
func withConsole(srv *api.Server, eng console.Engine, st store.Backend, cfg *Config, catalog *tickets.Catalog, log *slog.Logger) (http.Handler, error) {
	if catalog == nil { // loaded only for a helpdesk; the console needs its words anyway
		var err error
		if catalog, err = tickets.Load(cfg.Tickets); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
	}
	var words console.Words = catalog
	// A cluster's replicas share the sessions (any replica serves a
	// browser); the one hub keeps them in memory.
	var sessions console.Sessions
	if sealed, ok := st.(console.SealedStore); ok && cfg.Cluster != nil {
		sessions = console.SealedSessions{Store: sealed}
	}
	c, err := console.New(console.Options{API: srv, Engine: eng, Store: st, Reports: st, Dir: cfg.API.ConsoleDir, Log: log, Sessions: sessions,
		Words: words, Language: cfg.Tickets.Language, Helpdesk: cfg.Helpdesk != nil, Display: cfg.Policy.Display})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, c.Handler())
	mux.Handle("/", srv.Handler())
	return mux, nil
}
