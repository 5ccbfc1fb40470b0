package hub

import (
	"fmt"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// TestServeWithMosquitto runs the hub in external-broker mode against a real
// Mosquitto configured with the files `storehub acl` prints.
func TestServeWithMosquitto(t *testing.T) {
	agentHash, _ := broker.HashPassword("pw-42", 1000)
	hubHash, _ := broker.HashPassword("hub-pw", 1000)
	access := broker.NewAccess([]broker.Agent{{Tenant: s42.Tenant, Store: s42.Store, Agent: s42.Agent, PasswordHash: agentHash}})
	url := brokertest.StartMosquitto(t, access.MosquittoACL("storehub"), access.PasswordFile()+"storehub:"+hubHash+"\n")

	y := fmt.Sprintf(`
data_dir: %s
api: {listen: "127.0.0.1:0", tokens: [{name: jane, role: admin, token: %s}]}
broker: {mode: external, external: {urls: ["%s"], client_id: storehub-test, username: storehub, password: hub-pw}}
policy: {rules: {paper_out: {hold_down: 0s, hold_up: 0s}}}
`, t.TempDir(), token, url)
	h := startYAML(t, y)

	a, err := dialURL(t, url, "acme-s0042-backoffice", "pw-42", s42)
	if err != nil {
		t.Fatal(err)
	}
	// Retained, so the hub gets it even if it subscribes a moment later.
	if err := a.send(wire.ChannelStatus, &wire.Status{Header: a.header(0), State: wire.PresenceOnline}, true); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the hub to see the agent's birth", func() bool {
		var agents []map[string]any
		get(t, h, "/api/v1/agents?online=true", &agents)
		return len(agents) == 1
	})
	if err := a.event("receipt-1", wire.FaultPaperOut); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "a ticket through Mosquitto", func() bool { return len(incidents(t, h, "?fault=paper_out")) == 1 })
}
