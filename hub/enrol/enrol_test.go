package enrol

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

type fixture struct {
	svc    *Service
	st     *store.Bolt
	clk    *clock.Fake
	access *broker.Access
	dir    string
}

func newFixture(t *testing.T, configured ...broker.Agent) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenBolt(filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, clk: clock.NewFake(t0), access: broker.NewAccess(configured), dir: dir}
	cfg := Config{BrokerURLs: []string{"tcp://hub.example.com:1883"},
		Mosquitto: Mosquitto{ACLFile: filepath.Join(dir, "acl"), PasswordFile: filepath.Join(dir, "passwd"),
			HubPasswordHash: "$7$101$c2FsdA==$aGFzaA=="}}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	f.svc, err = New(Options{Store: st, Config: cfg, Clock: f.clk, Access: f.access, HubPublicKey: "KEY", Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) token(t *testing.T, req TokenRequest) string {
	t.Helper()
	c, err := f.svc.CreateToken(req, "admin")
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second) // tokens list in the order they were made
	return c.Token
}

func (f *fixture) enrol(tok, st, agent string) (*wire.EnrolResponse, error) {
	return f.svc.Enrol(&wire.EnrolRequest{V: 1, Token: tok, Store: st, Agent: agent, Hostname: "PC-" + st}, "192.0.2.1:5555")
}

func code(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return "not a refusal: " + err.Error()
}

func TestEnrolIssuesALoginTheBrokerTakesAtOnce(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, TokenRequest{Tenant: "acme", Stores: "S0*", ExpiresIn: "72h", Uses: 2})
	if !strings.HasPrefix(tok, TokenPrefix) {
		t.Fatalf("token %q", tok)
	}
	res, err := f.enrol(tok, "S0042", "main")
	if err != nil {
		t.Fatal(err)
	}
	if res.AgentID != (wire.AgentID{Tenant: "acme", Store: "S0042", Agent: "main"}) || res.HubPublicKey != "KEY" || res.Replaced ||
		res.BrokerURLs[0] != "tcp://hub.example.com:1883" {
		t.Fatalf("response %+v", res)
	}
	if err := res.Validate(); err != nil {
		t.Fatalf("the response breaks the contract: %v", err)
	}
	if c, ok := f.access.Authenticate(res.Username, res.Password, ""); !ok || c.ID != res.AgentID {
		t.Fatalf("the broker does not take the issued login: %+v %v", c, ok)
	}
	if _, ok := f.access.Authenticate(res.Username, "wrong", ""); ok {
		t.Fatal("the broker takes a wrong password")
	}
	// The hub keeps no secret: neither the token nor the password.
	toks, _ := f.st.EnrolTokens("")
	creds, _ := f.st.AgentCredentials()
	if toks[0].Hash == tok || strings.Contains(toks[0].Hash, tok) || toks[0].Uses != 1 || creds[0].PasswordHash == res.Password ||
		!strings.HasPrefix(creds[0].PasswordHash, "$7$") {
		t.Fatalf("stored token %+v, credential %+v", toks[0], creds[0])
	}
	// The Mosquitto files name the agent without a hand edit.
	acl, _ := os.ReadFile(filepath.Join(f.dir, "acl"))
	pw, _ := os.ReadFile(filepath.Join(f.dir, "passwd"))
	if !strings.Contains(string(acl), "user acme-S0042-main\n") || !strings.Contains(string(acl), "topic write storewatch/v1/acme/S0042/main/events\n") ||
		!strings.Contains(string(pw), "acme-S0042-main:$7$") {
		t.Fatalf("mosquitto files:\n%s\n%s", acl, pw)
	}
}

func TestEnrolRefusesWithAReason(t *testing.T) {
	f := newFixture(t, broker.Agent{Tenant: "acme", Store: "S0001", Agent: "main", PasswordHash: "$7$x"})
	once := f.token(t, TokenRequest{Tenant: "acme", Uses: 1})
	short := f.token(t, TokenRequest{Tenant: "acme", ExpiresIn: "1h"})
	north := f.token(t, TokenRequest{Tenant: "acme", Stores: "N*"})
	revoked := f.token(t, TokenRequest{Tenant: "acme"})
	toks, _ := f.svc.Tokens("acme")
	if _, err := f.svc.RevokeToken(toks[3].ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.enrol(once, "S0002", "main"); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(2 * time.Hour)
	for _, c := range []struct {
		name, token, store, agent, code string
	}{
		{"reused", once, "S0003", "main", wire.EnrolUsedUp},
		{"expired", short, "S0003", "main", wire.EnrolExpired},
		{"wrong store", north, "S0003", "main", wire.EnrolWrongStore},
		{"revoked token", revoked, "S0003", "main", wire.EnrolRevoked},
		{"unknown token", "swe_nope", "S0003", "main", wire.EnrolUnknownToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.enrol(c.token, c.store, c.agent)
			if err == nil {
				t.Fatal("enrolled")
			}
			if c.code != "" && code(err) != c.code {
				t.Fatalf("refused with %q (%v), want %q", code(err), err, c.code)
			}
			if !strings.Contains(err.Error(), "ask for a new one") && !strings.Contains(err.Error(), "check") {
				t.Errorf("%q does not say what to do", err)
			}
		})
	}
	// The hub.yaml agent is not taken over by an enrolment.
	if _, err := f.enrol(north, "N1", "main"); err != nil {
		t.Fatalf("a store the token covers: %v", err)
	}
	if _, err := f.enrol(f.token(t, TokenRequest{Tenant: "acme"}), "S0001", "main"); code(err) != wire.EnrolConflict {
		t.Fatalf("enrolling a hub.yaml agent: %v", err)
	}
	// A refused enrolment counts no use.
	toks, _ = f.svc.Tokens("acme")
	if toks[0].Uses != 1 || toks[1].Uses != 0 {
		t.Fatalf("uses %d and %d, want 1 and 0", toks[0].Uses, toks[1].Uses)
	}
	// Token requests are checked.
	for _, bad := range []TokenRequest{{Tenant: "a/b"}, {Tenant: "acme", Stores: "["}, {Tenant: "acme", ExpiresIn: "forever"},
		{Tenant: "acme", ExpiresIn: "10000h"}, {Tenant: "acme", Uses: -1}} {
		if _, err := f.svc.CreateToken(bad, "admin"); err == nil {
			t.Errorf("CreateToken(%+v) went through", bad)
		}
	}
}

func TestReEnrolmentReplacesThePCAndRevocationCutsItOff(t *testing.T) {
	f := newFixture(t)
	var rechecked int
	f.svc.o.Recheck = func() []wire.AgentID { rechecked++; return nil }
	tok := f.token(t, TokenRequest{Tenant: "acme"})
	old, err := f.enrol(tok, "S0042", "main")
	if err != nil {
		t.Fatal(err)
	}
	neu, err := f.enrol(tok, "S0042", "main")
	if err != nil {
		t.Fatal(err)
	}
	if !neu.Replaced || neu.AgentID != old.AgentID || neu.Password == old.Password {
		t.Fatalf("re-enrolment %+v after %+v", neu, old)
	}
	if _, ok := f.access.Authenticate(old.Username, old.Password, ""); ok {
		t.Fatal("the replaced PC's password still logs in")
	}
	if _, ok := f.access.Authenticate(neu.Username, neu.Password, ""); !ok {
		t.Fatal("the new PC's password does not log in")
	}
	c, err := f.svc.RevokeAgent(neu.AgentID, "admin")
	if err != nil || !c.Revoked() || c.Replaced != 1 {
		t.Fatalf("RevokeAgent = %+v, %v", c, err)
	}
	if _, ok := f.access.Authenticate(neu.Username, neu.Password, ""); ok {
		t.Fatal("a revoked agent logs in")
	}
	if rechecked < 2 {
		t.Fatalf("the broker rechecked its connections %d times, want one per change", rechecked)
	}
	pw, _ := os.ReadFile(filepath.Join(f.dir, "passwd"))
	if strings.Contains(string(pw), "acme-S0042-main") {
		t.Fatalf("the revoked agent is still in the password file:\n%s", pw)
	}
	if _, err := f.svc.RevokeAgent(wire.AgentID{Tenant: "acme", Store: "S9", Agent: "x"}, "admin"); err == nil {
		t.Fatal("revoked an agent that was never enrolled")
	}
	// A restarted hub admits what the store says.
	access := broker.NewAccess(nil)
	if _, err := New(Options{Store: f.st, Config: f.svc.o.Config, Access: access}); err != nil {
		t.Fatal(err)
	}
	if _, ok := access.Authenticate(neu.Username, neu.Password, ""); ok {
		t.Fatal("a restarted hub admits a revoked agent")
	}
}
