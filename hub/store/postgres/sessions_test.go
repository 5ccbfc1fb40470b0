package postgres

import (
	"bytes"
	"testing"
	"time"
)

// The console's sessions, sealed by the console, are kept by key, replaced
// by a new put, ended by a delete, and dropped once over when the next
// session is kept. The same queue of feedback a helpdesk's answer takes.
func TestConsoleSessionsAndHelpdeskFeedback(t *testing.T) {
	st := openStore(t, migrated(t), Options{})
	key, other := []byte("k1"), []byte("k2")
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if err := st.PutSession(key, []byte("sealed-1"), later); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSession(key, []byte("sealed-2"), later); err != nil {
		t.Fatal(err)
	}
	if v, exp, ok, err := st.GetSession(key); err != nil || !ok || !bytes.Equal(v, []byte("sealed-2")) || !exp.Equal(later) {
		t.Fatalf("GetSession = %q %v %v %v", v, exp, ok, err)
	}
	if err := st.PutSession(other, []byte("over"), time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSession([]byte("k3"), []byte("x"), later); err != nil { // the next put drops the one over
		t.Fatal(err)
	}
	if _, _, ok, err := st.GetSession(other); err != nil || ok {
		t.Fatalf("a session over is still kept: %v %v", ok, err)
	}
	if err := st.DeleteSession(key); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := st.GetSession(key); err != nil || ok {
		t.Fatalf("a deleted session is still kept: %v %v", ok, err)
	}

	// Helpdesk feedback: by partition, oldest first, gone once done.
	for _, f := range []Feedback{{Partition: 2, Incident: "INC-1", Closed: ""}, {Partition: 3, Incident: "INC-2"}, {Partition: 2, Incident: "INC-3", Closed: "closed"}} {
		f.Ticket.Helpdesk, f.Ticket.ID = "fsm", "T-"+f.Incident
		if err := st.QueueFeedback(f); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.PendingFeedback(2, 10)
	if err != nil || len(got) != 2 || got[0].Incident != "INC-1" || got[1].Closed != "closed" || got[1].Ticket.ID != "T-INC-3" {
		t.Fatalf("PendingFeedback(2) = %+v, %v", got, err)
	}
	if err := st.DoneFeedback(got[0].Seq); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.PendingFeedback(2, 10); len(got) != 1 || got[0].Incident != "INC-3" {
		t.Fatalf("after one done: %+v", got)
	}
}
