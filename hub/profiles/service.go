package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Store is where profiles are kept (store.Backend has it).
type Store interface {
	PutProfile(p store.ProfileRecord) error
	DeleteProfile(tenant, name string) error
	Profiles(tenant string) ([]store.ProfileRecord, error)
}

// Signer signs what the hub sends agents (query.Key).
type Signer interface{ Sign(msg []byte) []byte }

// Options configures the service.
type Options struct {
	Store Store
	Key   Signer
	// Publish sends a retained message to the broker.
	Publish func(topic string, payload []byte) error
	// Agents lists the agents the hub knows (heard from or enrolled).
	Agents func() []wire.AgentID
	Clock  clock.Clock
	Log    *slog.Logger
}

// Service keeps profiles and sends each agent its configuration.
type Service struct {
	o    Options
	mu   sync.Mutex
	sent map[wire.AgentID]string // the version last published to each agent
}

// New returns the service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, sent: map[wire.AgentID]string{}}
}

// Entry is a profile as listed: the profile with its revision.
type Entry struct {
	Profile
	Revision  int    `json:"revision"`
	UpdatedBy string `json:"updated_by"`
}

// ErrNotFound: no such profile.
var ErrNotFound = errors.New("no such profile")

// List lists a tenant's profiles ("" every tenant's).
func (s *Service) List(tenant string) ([]Entry, error) {
	recs, err := s.o.Store.Profiles(tenant)
	if err != nil {
		return nil, err
	}
	out := []Entry{}
	for _, r := range recs {
		var p Profile
		if err := json.Unmarshal(r.Profile, &p); err != nil {
			return nil, fmt.Errorf("profile %s/%s: %w", r.Tenant, r.Name, err)
		}
		out = append(out, Entry{Profile: p, Revision: r.Revision, UpdatedBy: r.UpdatedBy})
	}
	return out, nil
}

func (s *Service) get(tenant, name string) (*Entry, error) {
	all, err := s.List(tenant)
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Name == name {
			return &e, nil
		}
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, tenant, name)
}

// Put checks and stores a profile (new or replacing the one of that
// name), and sends the tenant's agents their configuration.
func (s *Service) Put(p *Profile, by string) (Entry, error) {
	if err := p.Check(); err != nil {
		return Entry{}, err
	}
	rev := 1
	if old, err := s.get(p.Tenant, p.Name); err == nil {
		rev = old.Revision + 1
	} else if !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return Entry{}, err
	}
	if err := s.o.Store.PutProfile(store.ProfileRecord{Tenant: p.Tenant, Name: p.Name, Revision: rev, UpdatedAt: s.o.Clock.Now().UTC(),
		UpdatedBy: by, Profile: raw}); err != nil {
		return Entry{}, err
	}
	s.o.Log.Info("device profile stored", "tenant", p.Tenant, "profile", p.Name, "revision", rev, "by", by)
	s.PushTenant(p.Tenant)
	return Entry{Profile: *p, Revision: rev, UpdatedBy: by}, nil
}

// SetValues sets one store's values of a profile.
func (s *Service) SetValues(tenant, name, st string, values map[string]string, by string) (Entry, error) {
	e, err := s.get(tenant, name)
	if err != nil {
		return Entry{}, err
	}
	p := e.Profile
	vals := map[string]map[string]string{}
	for k, v := range p.Values {
		vals[k] = v
	}
	vals[st] = values
	p.Values = vals
	return s.Put(&p, by)
}

// Delete deletes a profile; the agents it applied to lose its devices.
func (s *Service) Delete(tenant, name, by string) error {
	if err := s.o.Store.DeleteProfile(tenant, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s/%s", ErrNotFound, tenant, name)
		}
		return err
	}
	s.o.Log.Info("device profile deleted", "tenant", tenant, "profile", name, "by", by)
	s.PushTenant(tenant)
	return nil
}

// ConfigFor renders the configuration of agent id (unsigned): the devices
// of every profile that applies, by profile name. ok is false when no
// profile applies.
func (s *Service) ConfigFor(id wire.AgentID) (dc *wire.DeviceConfig, ok bool, err error) {
	all, err := s.List(id.Tenant)
	if err != nil {
		return nil, false, err
	}
	return configFor(id, all, s.o.Clock.Now().UTC())
}

// configFor renders agent id's configuration from its tenant's profiles.
func configFor(id wire.AgentID, all []Entry, now time.Time) (dc *wire.DeviceConfig, ok bool, err error) {
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	var devs strings.Builder
	var names []string
	var discovery, discoveryFrom string
	for _, e := range all {
		if !e.AppliesTo(id) {
			continue
		}
		d, err := e.Render(id.Store)
		if err != nil {
			return nil, true, err
		}
		devs.WriteString(d)
		names = append(names, e.Name)
		disc, err := e.RenderDiscovery(id.Store)
		if err != nil {
			return nil, true, err
		}
		if disc != "" && discoveryFrom != "" {
			return nil, true, fmt.Errorf("profiles %s and %s both set discovery for %s: which networks an agent scans is said in one profile", discoveryFrom, e.Name, id)
		}
		if disc != "" {
			discovery, discoveryFrom = disc, e.Name
		}
	}
	if len(names) > 0 {
		if err := CheckDevices(devs.String()); err != nil {
			return nil, true, fmt.Errorf("profiles %s for %s: %w", strings.Join(names, ", "), id, err)
		}
		if err := CheckDiscovery(discovery); err != nil {
			return nil, true, fmt.Errorf("profile %s for %s: %w", discoveryFrom, id, err)
		}
	}
	dc = &wire.DeviceConfig{Header: wire.Header{AgentID: id, Time: now}, Issued: now, Profiles: names, Devices: devs.String(), Discovery: discovery}
	dc.Version = dc.ContentVersion()
	return dc, len(names) > 0, nil
}

// Version names devices as the agent does (agent.ConfigVersion): the
// version of a configuration without discovery.
func Version(devices string) string {
	return (&wire.DeviceConfig{Devices: devices}).ContentVersion()
}

// Assigned gives the version of the configuration the hub sends each of
// ids; an agent no profile applies to (or whose profiles do not render)
// is left out.
func (s *Service) Assigned(ids []wire.AgentID) map[wire.AgentID]string {
	out := map[wire.AgentID]string{}
	profiles := map[string][]Entry{}
	now := s.o.Clock.Now().UTC()
	for _, id := range ids {
		all, listed := profiles[id.Tenant]
		if !listed {
			all, _ = s.List(id.Tenant)
			profiles[id.Tenant] = all
		}
		if dc, ok, err := configFor(id, all, now); err == nil && ok {
			out[id] = dc.Version
		}
	}
	return out
}

// Push sends agents their configuration, signed and retained. An agent no
// profile applies to gets one only if it had one from this hub before
// (now without devices), so agents the hub does not manage are left alone.
func (s *Service) Push(ids ...wire.AgentID) {
	profiles := map[string][]Entry{} // by tenant: listed once per push
	now := s.o.Clock.Now().UTC()
	for _, id := range ids {
		all, listed := profiles[id.Tenant]
		if !listed {
			var err error
			if all, err = s.List(id.Tenant); err != nil {
				s.o.Log.Error("device configuration not sent", "agent", id, "err", err)
				continue
			}
			profiles[id.Tenant] = all
		}
		dc, ok, err := configFor(id, all, now)
		if err != nil {
			s.o.Log.Error("device configuration not sent", "agent", id, "err", err)
			continue
		}
		s.mu.Lock()
		before, had := s.sent[id]
		s.mu.Unlock()
		if !ok && !had {
			continue
		}
		if had && before == dc.Version {
			continue
		}
		dc.Signature = s.o.Key.Sign(dc.SigningBytes())
		payload, err := wire.Encode(dc)
		if err == nil {
			err = s.o.Publish(id.Topic(wire.ChannelConfig), payload)
		}
		if err != nil {
			s.o.Log.Error("device configuration not sent", "agent", id, "err", err)
			continue
		}
		s.mu.Lock()
		s.sent[id] = dc.Version
		s.mu.Unlock()
		s.o.Log.Info("device configuration sent", "agent", id, "version", dc.Version, "profiles", dc.Profiles)
	}
}

// PushTenant sends every known agent of a tenant its configuration.
func (s *Service) PushTenant(tenant string) {
	var ids []wire.AgentID
	for _, id := range s.o.Agents() {
		if id.Tenant == tenant {
			ids = append(ids, id)
		}
	}
	s.Push(ids...)
}

// PushAll sends every known agent its configuration (at the hub's start:
// the embedded broker keeps no retained message across a restart).
func (s *Service) PushAll() { s.Push(s.o.Agents()...) }

// Forget makes the next Push send agent id its configuration again (a
// new enrolment).
func (s *Service) Forget(id wire.AgentID) {
	s.mu.Lock()
	delete(s.sent, id)
	s.mu.Unlock()
}
