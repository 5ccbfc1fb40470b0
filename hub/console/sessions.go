package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/api"
)

// Session is a logged-in browser, by the id its cookie carries.
type Session struct {
	Name string   `json:"name"`
	Role api.Role `json:"role"`
	// Auth is the login token as an Authorization header: an action
	// forwarded to another replica carries it.
	Auth    string    `json:"auth"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
	Flash   string    `json:"flash,omitempty"` // a message for the next page
}

// Sessions keeps the sessions. The one hub keeps them in memory
// (MemorySessions); on a cluster of replicas they are in the database
// (SealedSessions), so that a browser behind a load balancer is served by
// any replica and needs no sticky session.
type Sessions interface {
	Get(id string, now time.Time) (Session, bool)
	Put(id string, s Session) error
	Delete(id string) error
}

// MemorySessions keeps sessions in this process, at most maxSessions: at
// the limit the one closest to its end goes, rather than refusing a login.
type MemorySessions struct {
	mu sync.Mutex
	m  map[string]Session
}

// NewMemorySessions returns an empty store.
func NewMemorySessions() *MemorySessions { return &MemorySessions{m: map[string]Session{}} }

func (m *MemorySessions) Get(id string, now time.Time) (Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[id]
	if ok && now.After(s.Expires) {
		delete(m.m, id)
		return s, false
	}
	return s, ok
}

func (m *MemorySessions) Put(id string, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[id]; !ok {
		// A new session (its life begins now): drop those already over.
		began := s.Expires.Add(-sessionLife)
		for k, o := range m.m {
			if began.After(o.Expires) {
				delete(m.m, k)
			}
		}
		if len(m.m) >= maxSessions {
			var oldest string
			for k, o := range m.m {
				if oldest == "" || o.Expires.Before(m.m[oldest].Expires) {
					oldest = k
				}
			}
			delete(m.m, oldest)
		}
	}
	m.m[id] = s
	return nil
}

func (m *MemorySessions) Delete(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}

// SealedStore keeps sealed sessions by key (the hub's PostgreSQL store):
// it never sees a session's contents or its cookie.
type SealedStore interface {
	PutSession(key, sealed []byte, expires time.Time) error
	GetSession(key []byte) (sealed []byte, expires time.Time, ok bool, err error)
	DeleteSession(key []byte) error
}

// SealedSessions keeps sessions in a SealedStore, each under the SHA-256 of
// its cookie's id and sealed (AES-256-GCM) with a key derived from the id
// (HKDF-SHA-256): what the database holds opens only with the browser's
// cookie, so the login tokens in it are no secret to read there.
type SealedSessions struct{ Store SealedStore }

func sessionKeys(id string) (lookup, seal []byte, err error) {
	h := sha256.Sum256([]byte("storewatch console session id\x00" + id))
	seal, err = hkdf.Key(sha256.New, []byte(id), nil, "storewatch console session seal", 32)
	return h[:], seal, err
}

func (s SealedSessions) Get(id string, now time.Time) (Session, bool) {
	var out Session
	lookup, key, err := sessionKeys(id)
	if err != nil {
		return out, false
	}
	sealed, expires, ok, err := s.Store.GetSession(lookup)
	if err != nil || !ok || now.After(expires) {
		return out, false
	}
	plain, err := open(key, sealed, lookup)
	if err != nil || json.Unmarshal(plain, &out) != nil {
		return Session{}, false
	}
	return out, true
}

func (s SealedSessions) Put(id string, sess Session) error {
	lookup, key, err := sessionKeys(id)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	sealed, err := seal(key, plain, lookup)
	if err != nil {
		return err
	}
	return s.Store.PutSession(lookup, sealed, sess.Expires)
}

func (s SealedSessions) Delete(id string) error {
	lookup, _, err := sessionKeys(id)
	if err != nil {
		return err
	}
	return s.Store.DeleteSession(lookup)
}

// seal is AES-256-GCM with a random nonce in front; ad binds it to its key.
func seal(key, plain, ad []byte) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plain, ad), nil
}

func open(key, sealed, ad []byte) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize() {
		return nil, errors.New("console: a sealed session too short")
	}
	return g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], ad)
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return cipher.NewGCM(b)
}
