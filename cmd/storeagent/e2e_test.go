//go:build unix

package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/testkit/agenttest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// The real agent binary publishes to a real Mosquitto: birth, inventory,
// events as a device fails, answers to signed remote queries, and its will
// or goodbye when it stops.
func TestAgentPublishesThroughMosquitto(t *testing.T) {
	broker := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	bin := filepath.Join(t.TempDir(), "storeagent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pub, priv, _ := ed25519.GenerateKey(nil)

	// Its own listener, not testenv.ServeTCP: the test closes it to take
	// the PC away.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	pcAddr := ln.Addr().String()
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("  - {id: pc1, kind: pos_pc, driver: netprobe, address: 'tcp://%s', location: lane 1}\n", pcAddr))
	appendTo(t, cfg, fmt.Sprintf("broker:\n  urls: [%s]\nremote:\n  hub_public_key: %s\n  audit_log: %s\ntelemetry:\n  interval: 5s\nlog:\n  level: debug\n",
		broker.URL, base64.StdEncoding.EncodeToString(pub), filepath.Join(dir, "audit.log")))

	obs := agenttest.Observe(t, broker.URL)
	agent := testenv.Start(t, bin, "run", "--config", cfg)

	birth := obs.WaitFor(t, "birth", agenttest.StatusIs(wire.PresenceOnline)).(*wire.Status)
	obs.WaitFor(t, "pc1 ok", agenttest.EventOf("pc1", wire.StateOK))
	inv := obs.WaitFor(t, "inventory", func(m wire.Message) bool { _, ok := m.(*wire.Inventory); return ok }).(*wire.Inventory)
	if inv.StoreInfo.TimeZone != "Europe/Berlin" || len(inv.Devices) != 1 || inv.Devices[0].Location != "lane 1" {
		t.Errorf("inventory = %+v", inv)
	}

	// The PC goes away: after debounce (1 here) the agent reports it.
	ln.Close()
	t.Cleanup(func() {
		if t.Failed() {
			agent.Signal(syscall.SIGQUIT)
			agent.Wait(5 * time.Second)
			t.Logf("agent output:\n%s", agent.Output())
		}
	})
	ev := obs.WaitFor(t, "pc1 unreachable", agenttest.EventOf("pc1", wire.StateUnreachable)).(*wire.Event)
	if ev.Boot != birth.Boot || ev.Seq == 0 || ev.Faults[0].Code != wire.FaultUnreachable {
		t.Errorf("event = %+v", ev)
	}

	// A signed remote query is answered on cmd/res.
	req := &wire.CommandRequest{
		Header: wire.Header{AgentID: wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice-1"}, Time: time.Now().UTC()},
		ID:     "q-1", Device: "pc1", Op: "status", Requester: "e2e-test", Expires: time.Now().Add(time.Minute).UTC(),
	}
	req.Signature = ed25519.Sign(priv, req.SigningBytes())
	payload, _ := wire.Encode(req)
	obs.C.Publish(req.Topic(wire.ChannelCmdReq), 1, false, payload).Wait()
	res := obs.WaitFor(t, "query answer", func(m wire.Message) bool { r, ok := m.(*wire.CommandResponse); return ok && r.ID == "q-1" }).(*wire.CommandResponse)
	if !res.OK || !strings.Contains(string(res.Result), `"state":"unreachable"`) {
		t.Errorf("query answer = %+v %s", res, res.Result)
	}

	// A clean stop says goodbye with the same boot id.
	agent.Signal(syscall.SIGTERM)
	if err := agent.Wait(15 * time.Second); err != nil {
		t.Fatalf("agent did not stop: %v\n%s", err, agent.Output())
	}
	bye := obs.WaitFor(t, "offline status", agenttest.StatusIs(wire.PresenceOffline)).(*wire.Status)
	if bye.Boot != birth.Boot {
		t.Errorf("offline boot %s, birth boot %s", bye.Boot, birth.Boot)
	}

	// The outbox is empty afterwards and readable by the outbox command.
	out, errOut, code := run("outbox", "--config", cfg)
	if code != cli.ExitOK || !strings.Contains(out, "unsent     0 events") {
		t.Errorf("outbox: exit %d\n%s%s", code, out, errOut)
	}
}
