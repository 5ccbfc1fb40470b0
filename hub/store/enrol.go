package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Enrolment records: the tokens a store PC enrols with, and the broker
// credentials each enrolment issued (hub/enrol decides; the store keeps
// them). Like the audit trail they live beside the Store interface, in
// Backend, because only the enrolment service and the broker read them.

var (
	bEnrolTokens = []byte("enrol_tokens") // key: token hash
	bAgentCreds  = []byte("agent_credentials")
)

// EnrolToken is one enrolment token. The token itself is never stored:
// Hash is its SHA-256 (hex); ID, the hash's first 12 hex digits, names it
// in listings and for revocation.
type EnrolToken struct {
	ID           string    `json:"id"`
	Hash         string    `json:"hash"`
	Tenant       string    `json:"tenant"`
	StorePattern string    `json:"store_pattern,omitempty"` // path.Match pattern of the stores it may enrol; empty: any
	Note         string    `json:"note,omitempty"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	MaxUses      int       `json:"max_uses"` // 0: unlimited until it expires
	Uses         int       `json:"uses"`
	LastUsed     time.Time `json:"last_used,omitzero"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokedBy    string    `json:"revoked_by,omitempty"`
}

// AgentCredential is the broker login an enrolment issued to one agent.
// PasswordHash is Mosquitto's $7$ format; the password itself was shown
// once, to the enrolling agent.
type AgentCredential struct {
	Tenant       string    `json:"tenant"`
	Store        string    `json:"store"`
	Agent        string    `json:"agent"`
	User         string    `json:"user"`
	PasswordHash string    `json:"password_hash"`
	TokenID      string    `json:"token_id"`
	EnrolledAt   time.Time `json:"enrolled_at"`
	Hostname     string    `json:"hostname,omitempty"`
	OS           string    `json:"os,omitempty"`
	Version      string    `json:"version,omitempty"`
	// Replaced counts earlier enrolments of the same agent id (a replaced
	// PC): each replaced the credential before it.
	Replaced  int       `json:"replaced,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// Key is "tenant/store/agent".
func (c AgentCredential) Key() string { return c.Tenant + "/" + c.Store + "/" + c.Agent }

// Revoked reports whether the credential was revoked.
func (c AgentCredential) Revoked() bool { return !c.RevokedAt.IsZero() }

// ErrUnknownToken is returned by Enrol for a token hash the store does not
// hold.
var ErrUnknownToken = errors.New("unknown enrolment token")

// Issue decides an enrolment inside the store's transaction: it checks the
// token (and may change it: its use count), and returns the credential to
// store, given the agent's current one (nil: none). An error stores nothing.
type Issue func(t *EnrolToken, current *AgentCredential) (AgentCredential, error)

// PutEnrolToken stores a token (a new one, or a changed one: revoked).
func (s *Bolt) PutEnrolToken(t EnrolToken) error {
	return s.enrolUpdate(func(tokens, _ *bolt.Bucket) error { return put(tokens, []byte(t.Hash), t) })
}

// EnrolTokens lists the tokens of a tenant ("" every tenant), oldest first.
func (s *Bolt) EnrolTokens(tenant string) ([]EnrolToken, error) {
	var out []EnrolToken
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bEnrolTokens)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var t EnrolToken
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			if tenant == "" || t.Tenant == tenant {
				out = append(out, t)
			}
			return nil
		})
	})
	SortTokens(out)
	return out, err
}

// SortTokens orders tokens oldest first, then by id.
func SortTokens(ts []EnrolToken) {
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
			return ts[i].CreatedAt.Before(ts[j].CreatedAt)
		}
		return ts[i].ID < ts[j].ID
	})
}

// Enrol runs issue on the token with this hash and the agent's current
// credential, and stores both results, in one transaction: a use is
// counted only with the credential it issued.
func (s *Bolt) Enrol(hash string, agentKey string, issue Issue) (AgentCredential, error) {
	var out AgentCredential
	err := s.enrolUpdate(func(tokens, creds *bolt.Bucket) error {
		v := tokens.Get([]byte(hash))
		if v == nil {
			return ErrUnknownToken
		}
		var t EnrolToken
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		var cur *AgentCredential
		if v := creds.Get([]byte(agentKey)); v != nil {
			cur = &AgentCredential{}
			if err := json.Unmarshal(v, cur); err != nil {
				return err
			}
		}
		c, err := issue(&t, cur)
		if err != nil {
			return err
		}
		if c.Key() != agentKey {
			return fmt.Errorf("store: enrol: credential for %s, not %s", c.Key(), agentKey)
		}
		if err := put(tokens, []byte(hash), t); err != nil {
			return err
		}
		out = c
		return put(creds, []byte(agentKey), c)
	})
	return out, err
}

// PutAgentCredential stores a credential (revoked, for instance).
func (s *Bolt) PutAgentCredential(c AgentCredential) error {
	return s.enrolUpdate(func(_, creds *bolt.Bucket) error { return put(creds, []byte(c.Key()), c) })
}

// AgentCredentials lists every credential, ordered by tenant/store/agent.
func (s *Bolt) AgentCredentials() ([]AgentCredential, error) {
	var out []AgentCredential
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAgentCreds)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var c AgentCredential
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	SortCredentials(out)
	return out, err
}

// SortCredentials orders credentials by tenant, store and agent.
func SortCredentials(cs []AgentCredential) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Tenant != b.Tenant {
			return a.Tenant < b.Tenant
		}
		if a.Store != b.Store {
			return a.Store < b.Store
		}
		return a.Agent < b.Agent
	})
}

func (s *Bolt) enrolUpdate(fn func(tokens, creds *bolt.Bucket) error) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		tokens, err := tx.CreateBucketIfNotExists(bEnrolTokens)
		if err != nil {
			return err
		}
		creds, err := tx.CreateBucketIfNotExists(bAgentCreds)
		if err != nil {
			return err
		}
		return fn(tokens, creds)
	})
	if err != nil {
		return fmt.Errorf("store: enrolment: %w", err)
	}
	return nil
}

// Device profiles (hub/profiles) are kept whole, one record per tenant
// and name.

var bProfiles = []byte("profiles") // key: tenant/name

// ProfileRecord is one device profile as stored: hub/profiles.Profile's
// JSON, with the key fields beside it.
type ProfileRecord struct {
	Tenant    string          `json:"tenant"`
	Name      string          `json:"name"`
	Revision  int             `json:"revision"` // 1 at creation, +1 at every change
	UpdatedAt time.Time       `json:"updated_at"`
	UpdatedBy string          `json:"updated_by"`
	Profile   json.RawMessage `json:"profile"`
}

// PutProfile stores a profile (new or changed).
func (s *Bolt) PutProfile(p ProfileRecord) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bProfiles)
		if err != nil {
			return err
		}
		return put(b, []byte(p.Tenant+"/"+p.Name), p)
	})
	if err != nil {
		return fmt.Errorf("store: profile: %w", err)
	}
	return nil
}

// DeleteProfile deletes a profile; ErrNotFound if there is none.
func (s *Bolt) DeleteProfile(tenant, name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bProfiles)
		if b == nil || b.Get([]byte(tenant+"/"+name)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(tenant + "/" + name))
	})
}

// Profiles lists a tenant's profiles ("" every tenant's), by tenant and
// name.
func (s *Bolt) Profiles(tenant string) ([]ProfileRecord, error) {
	var out []ProfileRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bProfiles)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var p ProfileRecord
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			if tenant == "" || p.Tenant == tenant {
				out = append(out, p)
			}
			return nil
		})
	})
	SortProfiles(out)
	return out, err
}

// SortProfiles orders profiles by tenant and name.
func SortProfiles(ps []ProfileRecord) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Tenant != ps[j].Tenant {
			return ps[i].Tenant < ps[j].Tenant
		}
		return ps[i].Name < ps[j].Name
	})
}
