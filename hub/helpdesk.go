package hub

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/notify"
	"github.com/storewatch/storewatch/hub/tickets"
)

// HelpdeskConfig decodes and checks the tickets: and helpdesk: sections
// of the hub's file, reporting mistakes with their lines like the rest of
// the file. The helpdesk configuration is nil without a helpdesk: section:
// incidents then stay in the built-in ticket list. The outbox file
// defaults to data_dir/helpdesk.db.
func HelpdeskConfig(cfg *config.Hub) (tickets.Config, *helpdesk.Config, error) {
	var tc tickets.Config
	errs := cfg.Tickets.Decode(&tc)
	errs = append(errs, cfg.Tickets.Errors(tc.Validate())...)
	var hc *helpdesk.Config
	if cfg.Helpdesk.Given() {
		hc = &helpdesk.Config{}
		errs = append(errs, cfg.Helpdesk.Decode(hc)...)
		if hc.Outbox.Path == "" {
			hc.Outbox.Path = filepath.Join(cfg.DataDir, "helpdesk.db")
		}
		errs = append(errs, cfg.Helpdesk.Errors(hc.Validate())...)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return tc, nil, errs
	}
	return tc, hc, nil
}

// helpdeskSetup is what Start checks before it opens anything.
type helpdeskSetup struct {
	cfg     *helpdesk.Config
	catalog *tickets.Catalog
}

func loadHelpdesk(cfg *config.Hub) (helpdeskSetup, error) {
	tc, hc, err := HelpdeskConfig(cfg)
	if err != nil || hc == nil {
		return helpdeskSetup{}, err
	}
	cat, err := tickets.Load(tc)
	if err != nil {
		return helpdeskSetup{}, err
	}
	return helpdeskSetup{cfg: hc, catalog: cat}, nil
}

// startHelpdesk opens the helpdesk outbox and runs it and the bridge that
// feeds it from the notification stream.
func (h *Hub) startHelpdesk(ctx context.Context, s helpdeskSetup, pol incident.Policy, publicURL string) error {
	if s.cfg == nil {
		return nil
	}
	log := h.log.With("part", "helpdesk")
	out, err := helpdesk.Open(*s.cfg, s.catalog, helpdesk.Options{
		Feedback: &notify.Feedback{Writer: h.Pipeline, Store: h.Store, Log: log}, Logger: log, Records: h.records})
	if err != nil {
		return err
	}
	h.Helpdesk = out
	bridge := notify.New(notify.Options{Store: h.Store, Inventory: h.Engine, Outbox: out, Policy: pol, PublicURL: publicURL, Log: log})
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
	where := s.cfg.Outbox.Path
	if h.records != nil {
		where = "the postgres store"
	}
	log.Info("helpdesk delivery running", "helpdesks", len(s.cfg.Helpdesks), "outbox", where)
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
