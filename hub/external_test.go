package hub

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/internal/testenv"
	"github.com/storewatch/storewatch/wire"
)

// TestServeWithMosquitto runs the hub in external-broker mode against a real
// Mosquitto configured with the files `storehub acl` prints.
func TestServeWithMosquitto(t *testing.T) {
	mosquitto := testenv.LookPath(t, "mosquitto")
	dir := t.TempDir()
	agentHash, _ := broker.HashPassword("pw-42", 1000)
	hubHash, _ := broker.HashPassword("hub-pw", 1000)
	agents := []config.AgentAccess{{Tenant: s42.Tenant, Store: s42.Store, Agent: s42.Agent, PasswordHash: agentHash}}
	access := broker.NewAccess(agents)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	me, _ := user.Current()
	port := testenv.FreePort(t)
	conf := write("mosquitto.conf", fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\npersistence false\nuser %s\n",
		port, write("passwd", access.PasswordFile()+"storehub:"+hubHash+"\n"), write("acl", access.MosquittoACL("storehub")), me.Username))
	testenv.Start(t, mosquitto, "-c", conf)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testenv.WaitForPort(t, addr, 10*time.Second)

	y := fmt.Sprintf(`
data_dir: %s
api: {listen: "127.0.0.1:0", tokens: [{name: jane, role: admin, token: %s}]}
broker: {mode: external, external: {urls: ["tcp://%s"], client_id: storehub-test, username: storehub, password: hub-pw}}
policy: {rules: {paper_out: {hold_down: 0s, hold_up: 0s}}}
`, t.TempDir(), token, addr)
	cfg, _, err := config.ParseHub("hub.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })

	a, err := dialURL(t, "tcp://"+addr, "acme-s0042-backoffice", "pw-42", s42)
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
