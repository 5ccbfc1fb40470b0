package api

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

// letters is a dead-letter list in memory.
type letters struct {
	mu      sync.Mutex
	seqs    []uint64
	retried []uint64
}

func (l *letters) DeadLetters() ([]helpdesk.DeadLetter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []helpdesk.DeadLetter
	for _, s := range l.seqs {
		out = append(out, helpdesk.DeadLetter{Seq: s, Ticket: fmt.Sprintf("acme/s1/prn%d/paper_out#INC-1", s), Helpdesk: "redmine", Reason: "HTTP 422"})
	}
	return out, nil
}

func (l *letters) take(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := slices.Index(l.seqs, seq)
	if i < 0 {
		return fmt.Errorf("helpdesk: %w", helpdesk.ErrNoDeadLetter)
	}
	l.seqs = slices.Delete(l.seqs, i, i+1)
	return nil
}

func (l *letters) Retry(seq uint64) error {
	if err := l.take(seq); err != nil {
		return err
	}
	l.retried = append(l.retried, seq)
	return nil
}

func (l *letters) Discard(seq uint64) error { return l.take(seq) }

func deskEnv(t *testing.T, dl DeadLetters) *env {
	s, err := New(Options{DeadLetters: dl, Tokens: []Token{
		{Name: "wall", Role: "viewer", Token: viewerToken},
		{Name: "ops", Role: "admin", Token: adminToken},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv}
}

func TestDeadLettersCanBeListedRetriedAndDiscarded(t *testing.T) {
	l := &letters{seqs: []uint64{3, 5, 8}}
	e := deskEnv(t, l)
	const list = "/api/v1/helpdesk/dead-letters"
	var got []helpdesk.DeadLetter
	if code := e.call("GET", list, viewerToken, nil, &got); code != 200 || len(got) != 3 || got[0].Reason != "HTTP 422" {
		t.Fatalf("list: HTTP %d %+v", code, got)
	}
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"POST", list + "/5/retry", viewerToken, 403},
		{"DELETE", list + "/5", viewerToken, 403},
		{"POST", list + "/5/retry", "", 401},
		{"POST", list + "/5/retry", adminToken, 204},
		{"POST", list + "/5/retry", adminToken, 404}, // not dead any more
		{"DELETE", list + "/3", adminToken, 204},
		{"DELETE", list + "/3", adminToken, 404},
		{"DELETE", list + "/x", adminToken, 400},
		{"POST", list + "/-1/retry", adminToken, 400},
	} {
		if code := e.call(c.method, c.path, c.token, nil, nil); code != c.want {
			t.Errorf("%s %s as %s: HTTP %d, want %d", c.method, c.path, c.token, code, c.want)
		}
	}
	e.call("GET", list, viewerToken, nil, &got)
	if len(got) != 1 || got[0].Seq != 8 || !slices.Equal(l.retried, []uint64{5}) {
		t.Errorf("after retrying 5 and discarding 3: %+v, retried %v", got, l.retried)
	}
}

func TestDeadLettersWithoutAHelpdesk(t *testing.T) {
	e := deskEnv(t, nil)
	var got []helpdesk.DeadLetter
	if code := e.call("GET", "/api/v1/helpdesk/dead-letters", viewerToken, nil, &got); code != 200 || got == nil || len(got) != 0 {
		t.Errorf("list without a helpdesk: HTTP %d %v, want an empty list", code, got)
	}
	if code := e.call("POST", "/api/v1/helpdesk/dead-letters/1/retry", adminToken, nil, nil); code != 404 {
		t.Errorf("retry without a helpdesk: HTTP %d, want 404", code)
	}
}
