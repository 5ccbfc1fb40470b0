package enrol

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Store is what enrolment keeps in the hub's store (store.Backend has it).
type Store interface {
	PutEnrolToken(t store.EnrolToken) error
	EnrolTokens(tenant string) ([]store.EnrolToken, error)
	Enrol(tokenHash, agentKey string, issue store.Issue) (store.AgentCredential, error)
	PutAgentCredential(c store.AgentCredential) error
	AgentCredentials() ([]store.AgentCredential, error)
}

// Options configures a Service.
type Options struct {
	Store  Store
	Config Config
	Clock  clock.Clock
	Log    *slog.Logger
	// HubPublicKey is handed to enrolling agents (remote.hub_public_key).
	HubPublicKey string
	// Access is the embedded broker's table (or, with external brokers,
	// one kept only for the Mosquitto files); Recheck, when not nil,
	// disconnects agents whose credential it no longer holds.
	Access  *broker.Access
	Recheck func() []wire.AgentID
	// Iterations of the password hash (0: broker.DefaultIterations).
	Iterations int
	// Enrolled, when set, is called after each enrolment (the hub sends
	// the new agent its device configuration).
	Enrolled func(id wire.AgentID)
	// RefusalsPerWindow refused enrolments from one address within
	// RefusalWindow make the hub refuse that address until the window
	// ends (0: DefaultRefusalsPerWindow, DefaultRefusalWindow).
	RefusalsPerWindow int
	RefusalWindow     time.Duration
}

// Service creates tokens and enrols agents.
type Service struct {
	o      Options
	caCert string
	limit  *refusalLimit
	mu     sync.Mutex // serializes the refresh of the access table and files
}

// New returns the service and brings the broker's access table (and the
// Mosquitto files) up to the enrolled agents the store holds.
func New(o Options) (*Service, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Iterations == 0 {
		o.Iterations = broker.DefaultIterations
	}
	if o.Access == nil {
		o.Access = broker.NewAccess(nil)
	}
	s := &Service{o: o, limit: newRefusalLimit(o.RefusalsPerWindow, o.RefusalWindow)}
	if o.Config.CAFile != "" {
		b, err := os.ReadFile(o.Config.CAFile)
		if err != nil {
			return nil, fmt.Errorf("enrolment: ca_file: %w", err)
		}
		s.caCert = string(b)
	}
	if err := s.refresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// Refusal is why an enrolment or a token operation was refused.
type Refusal struct {
	Status int    // HTTP status
	Code   string // wire.Enrol* for enrolments
	Msg    string
	// RetryAfter, for a refusal that time lifts (too many attempts), is
	// how long to wait.
	RetryAfter time.Duration
}

func (r *Refusal) Error() string { return r.Msg }

func refuse(status int, code, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// TokenRequest asks for a new token (POST /api/v1/enrolment/tokens).
type TokenRequest struct {
	Tenant    string `json:"tenant"`
	Stores    string `json:"stores,omitempty"`     // pattern of store ids, e.g. S0*; empty: any store of the tenant
	ExpiresIn string `json:"expires_in,omitempty"` // Go duration, e.g. 72h; default 168h
	Uses      int    `json:"uses,omitempty"`       // 0: unlimited until it expires
	Note      string `json:"note,omitempty"`
}

// CreatedToken is a new token: Token is shown this once.
type CreatedToken struct {
	Token string `json:"token"`
	store.EnrolToken
}

// TokenPrefix starts every enrolment token, so a token pasted into the
// wrong place is recognisable (and found by secret scanners).
const TokenPrefix = "swe_"

// HashToken is the hex SHA-256 the store keeps of a token. Tokens carry
// 160 random bits, so a plain hash is enough: there is nothing to guess.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a token for a tenant.
func (s *Service) CreateToken(req TokenRequest, by string) (CreatedToken, error) {
	if err := wire.ValidateSegment(req.Tenant); err != nil {
		return CreatedToken{}, refuse(http.StatusBadRequest, wire.EnrolInvalid, "tenant: %v", err)
	}
	if req.Stores != "" {
		if _, err := path.Match(req.Stores, ""); err != nil || strings.Contains(req.Stores, "/") {
			return CreatedToken{}, refuse(http.StatusBadRequest, wire.EnrolInvalid, "stores: %q is not a pattern of store ids such as S0*", req.Stores)
		}
	}
	ttl := DefaultTokenTTL
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return CreatedToken{}, refuse(http.StatusBadRequest, wire.EnrolInvalid, "expires_in: %q is not a duration such as 72h", req.ExpiresIn)
		}
		ttl = d
	}
	if ttl > s.o.Config.MaxTokenTTL {
		return CreatedToken{}, refuse(http.StatusBadRequest, wire.EnrolInvalid, "expires_in: %v is longer than enrolment.max_token_ttl (%v)", ttl, s.o.Config.MaxTokenTTL)
	}
	if req.Uses < 0 {
		return CreatedToken{}, refuse(http.StatusBadRequest, wire.EnrolInvalid, "uses: %d is negative", req.Uses)
	}
	if len(req.Note) > 200 {
		return CreatedToken{}, refuse(http.StatusBadRequest, wire.EnrolInvalid, "note: longer than 200 characters")
	}
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return CreatedToken{}, err
	}
	tok := TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	hash := HashToken(tok)
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	rec := store.EnrolToken{ID: hash[:12], Hash: hash, Tenant: req.Tenant, StorePattern: req.Stores, Note: req.Note, CreatedBy: by,
		CreatedAt: now, ExpiresAt: now.Add(ttl), MaxUses: req.Uses}
	if err := s.o.Store.PutEnrolToken(rec); err != nil {
		return CreatedToken{}, err
	}
	s.o.Log.Info("enrolment token created", "id", rec.ID, "tenant", rec.Tenant, "stores", rec.StorePattern, "expires", rec.ExpiresAt,
		"uses", rec.MaxUses, "by", by)
	return CreatedToken{Token: tok, EnrolToken: rec}, nil
}

// Tokens lists a tenant's tokens ("" every tenant's), without their hash.
func (s *Service) Tokens(tenant string) ([]store.EnrolToken, error) {
	ts, err := s.o.Store.EnrolTokens(tenant)
	for i := range ts {
		ts[i].Hash = ""
	}
	return ts, err
}

// RevokeToken revokes the token with this id: no enrolment takes it any
// more. Agents it enrolled stay enrolled.
func (s *Service) RevokeToken(id, by string) (store.EnrolToken, error) {
	ts, err := s.o.Store.EnrolTokens("")
	if err != nil {
		return store.EnrolToken{}, err
	}
	for _, t := range ts {
		if t.ID != id {
			continue
		}
		if t.RevokedAt.IsZero() {
			t.RevokedAt, t.RevokedBy = s.o.Clock.Now().UTC(), by
			if err := s.o.Store.PutEnrolToken(t); err != nil {
				return store.EnrolToken{}, err
			}
			s.o.Log.Info("enrolment token revoked", "id", t.ID, "tenant", t.Tenant, "by", by)
		}
		t.Hash = ""
		return t, nil
	}
	return store.EnrolToken{}, refuse(http.StatusNotFound, wire.EnrolUnknownToken, "no enrolment token %q", id)
}

// check says why token t may not enrol store st now, nil if it may.
func check(t *store.EnrolToken, st string, now time.Time) *Refusal {
	switch {
	case !t.RevokedAt.IsZero():
		return refuse(http.StatusForbidden, wire.EnrolRevoked, "enrolment token %s was revoked at %s; ask for a new one", t.ID, t.RevokedAt.Format(time.RFC3339))
	case !now.Before(t.ExpiresAt):
		return refuse(http.StatusForbidden, wire.EnrolExpired, "enrolment token %s expired at %s; ask for a new one", t.ID, t.ExpiresAt.Format(time.RFC3339))
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return refuse(http.StatusForbidden, wire.EnrolUsedUp, "enrolment token %s has been used %d of %d times; ask for a new one", t.ID, t.Uses, t.MaxUses)
	}
	if t.StorePattern != "" {
		if ok, _ := path.Match(t.StorePattern, st); !ok {
			return refuse(http.StatusForbidden, wire.EnrolWrongStore, "enrolment token %s enrols stores matching %q, not store %q; check --store", t.ID, t.StorePattern, st)
		}
	}
	return nil
}

// Enrol enrols the PC that sent req; remote is its address, for the log
// and the limit on refused attempts.
func (s *Service) Enrol(req *wire.EnrolRequest, remote string) (*wire.EnrolResponse, error) {
	if len(s.o.Config.BrokerURLs) == 0 {
		return nil, refuse(http.StatusServiceUnavailable, "", "this hub does not take enrolments: enrolment.broker_urls is not set in hub.yaml")
	}
	now := s.o.Clock.Now().UTC()
	if over, wait := s.limit.blocked(remote, now); over {
		wait = wait.Round(time.Second) + time.Second
		s.o.Log.Warn("enrolment refused", "code", wire.EnrolTooMany, "store", req.Store, "remote", remote)
		r := refuse(http.StatusTooManyRequests, wire.EnrolTooMany,
			"too many refused enrolments from %s: try again in %v, with a token checked against storehub tokens list", host(remote), wait)
		r.RetryAfter = wait
		return nil, r
	}
	res, err := s.enrol(req, remote, now)
	var r *Refusal
	if errors.As(err, &r) && r.Status >= 400 && r.Status < 500 && r.Code != wire.EnrolConflict {
		s.limit.refused(remote, now)
	}
	return res, err
}

func (s *Service) enrol(req *wire.EnrolRequest, remote string, now time.Time) (*wire.EnrolResponse, error) {
	hash := HashToken(req.Token)
	var id wire.AgentID
	var replaced bool
	key := func(tenant string) string { return tenant + "/" + req.Store + "/" + req.Agent }
	// The tenant is the token's, so the agent key is known only inside the
	// transaction: the token's tenant is looked up first.
	tenant, terr := s.tenantOf(hash)
	if terr != nil {
		s.o.Log.Warn("enrolment refused", "code", wire.EnrolUnknownToken, "store", req.Store, "remote", remote)
		return nil, terr
	}
	// The password and its hash are made before the transaction (the hash
	// is slow on purpose), and only for a token the hub knows: an unknown
	// one costs the hub a hash of the token and a lookup, nothing more.
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	password := base64.RawURLEncoding.EncodeToString(raw)
	pwHash, err := broker.HashPassword(password, s.o.Iterations)
	if err != nil {
		return nil, err
	}
	c, err := s.o.Store.Enrol(hash, key(tenant), func(t *store.EnrolToken, cur *store.AgentCredential) (store.AgentCredential, error) {
		if r := check(t, req.Store, now); r != nil {
			return store.AgentCredential{}, r
		}
		id = wire.AgentID{Tenant: t.Tenant, Store: req.Store, Agent: req.Agent}
		if s.o.Access.Configured(id) {
			return store.AgentCredential{}, refuse(http.StatusConflict, wire.EnrolConflict,
				"agent %s is configured by hand in hub.yaml (agents:); remove it there to enrol it, or enrol with another --agent", id)
		}
		t.Uses++
		t.LastUsed = now
		c := store.AgentCredential{Tenant: id.Tenant, Store: id.Store, Agent: id.Agent, User: broker.Agent{Tenant: id.Tenant, Store: id.Store, Agent: id.Agent}.User(),
			PasswordHash: pwHash, TokenID: t.ID, EnrolledAt: now, Hostname: req.Hostname, OS: req.OS, Version: req.Version}
		if cur != nil {
			c.Replaced, replaced = cur.Replaced+1, true
		}
		return c, nil
	})
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			s.o.Log.Warn("enrolment refused", "code", r.Code, "tenant", tenant, "store", req.Store, "agent", req.Agent, "remote", remote, "why", r.Msg)
			return nil, r
		}
		if errors.Is(err, store.ErrUnknownToken) {
			return nil, unknownToken()
		}
		return nil, err
	}
	if err := s.refresh(); err != nil {
		s.o.Log.Error("enrolled, but the broker's access table could not be updated", "agent", id, "err", err)
	}
	if s.o.Enrolled != nil {
		s.o.Enrolled(id)
	}
	s.o.Log.Info("agent enrolled", "agent", id, "token", c.TokenID, "hostname", req.Hostname, "os", req.OS, "version", req.Version,
		"replaced", replaced, "remote", remote)
	return &wire.EnrolResponse{V: wire.Version, AgentID: id, Username: c.User, Password: password, BrokerURLs: s.o.Config.BrokerURLs,
		HubPublicKey: s.o.HubPublicKey, CACert: s.caCert, Replaced: replaced}, nil
}

func unknownToken() *Refusal {
	return refuse(http.StatusForbidden, wire.EnrolUnknownToken, "unknown enrolment token: check it was copied whole, or ask for a new one")
}

// tenantOf finds the tenant of the token with this hash.
func (s *Service) tenantOf(hash string) (string, error) {
	ts, err := s.o.Store.EnrolTokens("")
	if err != nil {
		return "", err
	}
	for _, t := range ts {
		if t.Hash == hash {
			return t.Tenant, nil
		}
	}
	return "", unknownToken()
}

// Agents lists the enrolled agents' credentials, without their hash.
func (s *Service) Agents() ([]store.AgentCredential, error) {
	cs, err := s.o.Store.AgentCredentials()
	for i := range cs {
		cs[i].PasswordHash = ""
	}
	return cs, err
}

// RevokeAgent revokes an enrolled agent's credential: the broker
// disconnects it and refuses it from now on. Its history stays; enrolling
// the store's PC again (with a new token) admits it again.
func (s *Service) RevokeAgent(id wire.AgentID, by string) (store.AgentCredential, error) {
	cs, err := s.o.Store.AgentCredentials()
	if err != nil {
		return store.AgentCredential{}, err
	}
	for _, c := range cs {
		if c.Key() != id.String() {
			continue
		}
		if !c.Revoked() {
			c.RevokedAt, c.RevokedBy = s.o.Clock.Now().UTC(), by
			if err := s.o.Store.PutAgentCredential(c); err != nil {
				return store.AgentCredential{}, err
			}
			if err := s.refresh(); err != nil {
				return c, err
			}
			s.o.Log.Warn("agent revoked", "agent", id, "by", by)
		}
		c.PasswordHash = ""
		return c, nil
	}
	if s.o.Access.Configured(id) {
		return store.AgentCredential{}, refuse(http.StatusConflict, "", "agent %s is configured in hub.yaml (agents:), not enrolled: remove it there", id)
	}
	return store.AgentCredential{}, refuse(http.StatusNotFound, "", "no enrolled agent %s", id)
}

// refresh brings the access table, the connected agents and the Mosquitto
// files up to the store's credentials.
func (s *Service) refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := s.o.Store.AgentCredentials()
	if err != nil {
		return err
	}
	var live []broker.Credential
	for _, c := range cs {
		if !c.Revoked() {
			live = append(live, broker.Credential{ID: wire.AgentID{Tenant: c.Tenant, Store: c.Store, Agent: c.Agent}, User: c.User, PasswordHash: c.PasswordHash})
		}
	}
	s.o.Access.SetEnrolled(live)
	if s.o.Recheck != nil {
		s.o.Recheck()
	}
	return s.writeMosquitto()
}
