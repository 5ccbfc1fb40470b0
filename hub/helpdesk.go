package hub

import (
	"context"
	"fmt"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/helpdesk"
	_ "github.com/storewatch/storewatch/hub/helpdesk/all" // the connectors a helpdesk's type names
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/notify"
	"github.com/storewatch/storewatch/hub/tickets"
)

// startHelpdesk opens the helpdesk outbox and runs it and the bridge that
// feeds it from the notification stream.
func (h *Hub) startHelpdesk(ctx context.Context, c *Config, catalog *tickets.Catalog, pol incident.Policy) error {
	if c.Helpdesk == nil {
		return nil
	}
	log := h.log.With("part", "helpdesk")
	out, err := helpdesk.Open(*c.Helpdesk, catalog, helpdesk.Options{
		Feedback: &notify.Feedback{Writer: h.Pipeline, Store: h.Store, Log: log}, Logger: log, Records: h.records})
	if err != nil {
		return err
	}
	h.Helpdesk = out
	bridge := notify.New(notify.Options{Stream: h.Store, Counts: h.Store, Inventory: h.Engine, Outbox: out, Policy: pol, PublicURL: c.API.PublicURL, Log: log})
	h.wg.Add(2)
	go func() {
		defer h.wg.Done()
		if err := out.Run(ctx); err != nil {
			h.fail(fmt.Errorf("helpdesk outbox: %w", err))
		}
	}()
	go func() {
		defer h.wg.Done()
		if err := bridge.Run(ctx); err != nil {
			h.fail(fmt.Errorf("helpdesk bridge: %w", err))
		}
	}()
	where := c.Helpdesk.Outbox.Path
	if h.records != nil {
		where = "the postgres store"
	}
	log.Info("helpdesk delivery running", "helpdesks", len(c.Helpdesk.Helpdesks), "outbox", where)
	return nil
}

// deadLetters is the outbox for the API, or nil (not a nil pointer in an
// interface) without one.
func (h *Hub) deadLetters() api.DeadLetters {
	if h.Helpdesk == nil {
		return nil
	}
	return h.Helpdesk
}
