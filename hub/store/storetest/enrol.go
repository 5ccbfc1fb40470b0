package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/storewatch/storewatch/hub/store"
)

var errTokenUsedUp = errors.New("used up")

// useOnce is an Issue that allows a token MaxUses uses and issues a
// credential for key's agent.
func useOnce(tenant, st, agent string) store.Issue {
	return func(t *store.EnrolToken, cur *store.AgentCredential) (store.AgentCredential, error) {
		if t.MaxUses > 0 && t.Uses >= t.MaxUses {
			return store.AgentCredential{}, errTokenUsedUp
		}
		t.Uses++
		t.LastUsed = T0
		c := store.AgentCredential{Tenant: tenant, Store: st, Agent: agent, User: tenant + "-" + st + "-" + agent, PasswordHash: "$7$x",
			TokenID: t.ID, EnrolledAt: T0}
		if cur != nil {
			c.Replaced = cur.Replaced + 1
		}
		return c, nil
	}
}

// enrolmentCountsUsesWithTheCredentialsItIssues: a token's uses are
// counted in the transaction that stores the credential, a refusal stores
// nothing, racing enrolments cannot overspend a token, a re-enrolment
// replaces the agent's credential, and all of it survives a restart.
func enrolmentCountsUsesWithTheCredentialsItIssues(t *testing.T, newStore New) {
	opener := newStore(t)
	st := opener(t)
	tok := store.EnrolToken{ID: "a1b2c3d4e5f6", Hash: "a1b2c3d4e5f6" + "00", Tenant: "acme", StorePattern: "S0*", CreatedBy: "admin",
		CreatedAt: T0, ExpiresAt: T0.Add(48 * 3600e9), MaxUses: 3}
	other := store.EnrolToken{ID: "ffffffffffff", Hash: "ffffffffffff00", Tenant: "globex", CreatedBy: "admin", CreatedAt: T0.Add(1), ExpiresAt: T0.Add(3600e9)}
	for _, x := range []store.EnrolToken{tok, other} {
		if err := st.PutEnrolToken(x); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.EnrolTokens("acme"); err != nil || len(got) != 1 || got[0] != tok {
		t.Fatalf("EnrolTokens(acme) = %+v, %v; want %+v", got, err, tok)
	}
	if got, err := st.EnrolTokens(""); err != nil || len(got) != 2 || got[0].ID != tok.ID || got[1].ID != other.ID {
		t.Fatalf("EnrolTokens() = %+v, %v", got, err)
	}

	if _, err := st.Enrol("nope", "acme/S0001/pos", useOnce("acme", "S0001", "pos")); !errors.Is(err, store.ErrUnknownToken) {
		t.Fatalf("Enrol with an unknown token: %v, want ErrUnknownToken", err)
	}
	// A refusal stores nothing.
	refuse := errors.New("wrong store")
	if _, err := st.Enrol(tok.Hash, "acme/X1/pos", func(*store.EnrolToken, *store.AgentCredential) (store.AgentCredential, error) {
		return store.AgentCredential{}, refuse
	}); !errors.Is(err, refuse) {
		t.Fatalf("refused enrolment: %v, want %v", err, refuse)
	}

	// Three agents race for three uses, and two more for none left.
	var wg sync.WaitGroup
	results := make([]error, 5)
	stores := []string{"S0001", "S0002", "S0003", "S0004", "S0005"}
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = st.Enrol(tok.Hash, "acme/"+s+"/pos", useOnce("acme", s, "pos"))
		}()
	}
	wg.Wait()
	ok, usedUp := 0, 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, errTokenUsedUp):
			usedUp++
		default:
			t.Fatalf("enrolment: %v", err)
		}
	}
	if ok != 3 || usedUp != 2 {
		t.Fatalf("%d enrolments went through and %d were refused; want 3 and 2", ok, usedUp)
	}
	creds, err := st.AgentCredentials()
	if err != nil || len(creds) != 3 {
		t.Fatalf("AgentCredentials = %+v, %v; want 3", creds, err)
	}

	// A re-enrolment (a replaced PC) sees the credential it replaces.
	more := other
	more.Hash, more.ID, more.Tenant = "eeeeeeeeeeee00", "eeeeeeeeeeee", "acme"
	if err := st.PutEnrolToken(more); err != nil {
		t.Fatal(err)
	}
	again, err := st.Enrol(more.Hash, creds[0].Key(), useOnce("acme", creds[0].Store, "pos"))
	if err != nil || again.Replaced != 1 {
		t.Fatalf("re-enrolment = %+v, %v; want Replaced 1", again, err)
	}
	again.RevokedAt, again.RevokedBy = T0.Add(5e9), "admin"
	if err := st.PutAgentCredential(again); err != nil {
		t.Fatal(err)
	}

	st.Close()
	st = opener(t)
	defer st.Close()
	creds, err = st.AgentCredentials()
	if err != nil || len(creds) != 3 {
		t.Fatalf("after a restart: AgentCredentials = %+v, %v", creds, err)
	}
	if creds[0] != again || !creds[0].Revoked() {
		t.Errorf("after a restart: %+v, want %+v", creds[0], again)
	}
	for i := 1; i < len(creds); i++ {
		if creds[i-1].Store >= creds[i].Store {
			t.Errorf("credentials not ordered by store: %v", creds)
		}
	}
	toks, err := st.EnrolTokens("acme")
	if err != nil || len(toks) != 2 || toks[0].Uses != 3 || !toks[0].LastUsed.Equal(T0) {
		t.Errorf("after a restart: tokens = %+v, %v; want the first used 3 times", toks, err)
	}
}

// profilesArePutListedAndDeleted: device profiles by tenant and name, a
// change replacing the record, survive a restart, and a delete of none
// says so.
func profilesArePutListedAndDeleted(t *testing.T, newStore New) {
	opener := newStore(t)
	st := opener(t)
	lane := store.ProfileRecord{Tenant: "acme", Name: "standard-lane", Revision: 1, UpdatedAt: T0, UpdatedBy: "jane",
		Profile: []byte(`{"name":"standard-lane","devices":"- id: x\n"}`)}
	for _, p := range []store.ProfileRecord{lane, {Tenant: "acme", Name: "backoffice", Revision: 1, UpdatedAt: T0, Profile: []byte(`{}`)},
		{Tenant: "globex", Name: "all", Revision: 1, UpdatedAt: T0, Profile: []byte(`{}`)}} {
		if err := st.PutProfile(p); err != nil {
			t.Fatal(err)
		}
	}
	lane.Revision, lane.Profile = 2, []byte(`{"name":"standard-lane","devices":"- id: y\n"}`)
	if err := st.PutProfile(lane); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = opener(t)
	defer st.Close()
	got, err := st.Profiles("acme")
	if err != nil || len(got) != 2 || got[0].Name != "backoffice" || got[1].Name != "standard-lane" || got[1].Revision != 2 ||
		!strings.Contains(string(got[1].Profile), "id: y") || !got[1].UpdatedAt.Equal(T0) {
		t.Fatalf("Profiles(acme) = %+v, %v", got, err)
	}
	if all, err := st.Profiles(""); err != nil || len(all) != 3 || all[2].Tenant != "globex" {
		t.Fatalf("Profiles() = %+v, %v", all, err)
	}
	if err := st.DeleteProfile("acme", "backoffice"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteProfile("acme", "backoffice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a deleted profile: %v, want ErrNotFound", err)
	}
	if got, _ := st.Profiles("acme"); len(got) != 1 {
		t.Fatalf("after the delete: %+v", got)
	}
}
