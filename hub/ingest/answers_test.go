package ingest

import (
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

type answers struct {
	mu  sync.Mutex
	got []*wire.CommandResponse
}

func (a *answers) Answer(from wire.AgentID, res *wire.CommandResponse, _ time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, res)
}

// Query answers are checked like every message (strict decoding, identity
// against the topic) and then go to the query service, not the engine.
func TestAnswersAreCheckedThenRouted(t *testing.T) {
	h := start(t)
	to := &answers{}
	h.p.answers = to
	res := func(id wire.AgentID) []byte {
		return h.msg(&wire.CommandResponse{Header: wire.Header{AgentID: id, Time: h.clk.Now()}, ID: "q-1", Device: "receipt-1", Op: "status", OK: true})
	}
	topic := agentID.Topic(wire.ChannelCmdRes)
	h.send(topic, res(agentID))
	h.send(topic, res(wire.AgentID{Tenant: "acme", Store: "s0043", Agent: "backoffice"}))
	h.send(topic, []byte(`{"v":1,"type":"cmd_res","id":"q-2","ok":true,"surprise":1}`))
	if len(to.got) != 1 || to.got[0].ID != "q-1" {
		t.Errorf("routed %d answers, want the one good one", len(to.got))
	}
	reasons := map[string]bool{}
	for _, r := range h.p.Rejected() {
		reasons[r.Reason] = true
	}
	if !reasons["identity_mismatch"] || !reasons["malformed"] {
		t.Errorf("rejections %v, want identity_mismatch and malformed", reasons)
	}
	if n := counter(h.m.Messages.WithLabelValues(string(wire.ChannelCmdRes), "answered")); n != 1 {
		t.Errorf("answered counter %v", n)
	}
}
