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
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// observer subscribes to every storewatch topic and keeps what arrives.
type observer struct {
	mu   sync.Mutex
	msgs []wire.Message
	raw  map[string][]byte // last payload per topic
	c    mqtt.Client
}

func observe(t *testing.T, url string) *observer {
	t.Helper()
	o := &observer{raw: map[string][]byte{}}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("observer-%d", time.Now().UnixNano()))
	o.c = mqtt.NewClient(opts)
	if tok := o.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect: %v", tok.Error())
	}
	t.Cleanup(func() { o.c.Disconnect(100) })
	tok := o.c.Subscribe(wire.TopicRoot+"/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		_, ch, err := wire.ParseTopic(m.Topic())
		if err != nil {
			return
		}
		msg, err := wire.DecodeChannel(ch, m.Payload())
		if err != nil {
			t.Errorf("agent published an invalid %s message: %v\n%s", ch, err, m.Payload())
			return
		}
		o.mu.Lock()
		o.msgs = append(o.msgs, msg)
		o.raw[m.Topic()] = m.Payload()
		o.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return o
}

// find returns the messages satisfying match.
func (o *observer) find(match func(wire.Message) bool) []wire.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []wire.Message
	for _, m := range o.msgs {
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

func (o *observer) waitFor(t *testing.T, what string, match func(wire.Message) bool) wire.Message {
	t.Helper()
	var got []wire.Message
	testenv.WaitFor(t, 30*time.Second, what, func() bool { got = o.find(match); return len(got) > 0 })
	return got[len(got)-1]
}

func eventOf(device string, state wire.HealthState) func(wire.Message) bool {
	return func(m wire.Message) bool {
		ev, ok := m.(*wire.Event)
		return ok && ev.Device == device && ev.State == state
	}
}

func statusIs(state string) func(wire.Message) bool {
	return func(m wire.Message) bool { s, ok := m.(*wire.Status); return ok && s.State == state }
}

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

	obs := observe(t, broker.URL)
	agent := testenv.Start(t, bin, "run", "--config", cfg)

	birth := obs.waitFor(t, "birth", statusIs(wire.PresenceOnline)).(*wire.Status)
	obs.waitFor(t, "pc1 ok", eventOf("pc1", wire.StateOK))
	inv := obs.waitFor(t, "inventory", func(m wire.Message) bool { _, ok := m.(*wire.Inventory); return ok }).(*wire.Inventory)
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
	ev := obs.waitFor(t, "pc1 unreachable", eventOf("pc1", wire.StateUnreachable)).(*wire.Event)
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
	obs.c.Publish(req.Topic(wire.ChannelCmdReq), 1, false, payload).Wait()
	res := obs.waitFor(t, "query answer", func(m wire.Message) bool { r, ok := m.(*wire.CommandResponse); return ok && r.ID == "q-1" }).(*wire.CommandResponse)
	if !res.OK || !strings.Contains(string(res.Result), `"state":"unreachable"`) {
		t.Errorf("query answer = %+v %s", res, res.Result)
	}

	// A clean stop says goodbye with the same boot id.
	agent.Signal(syscall.SIGTERM)
	if err := agent.Wait(15 * time.Second); err != nil {
		t.Fatalf("agent did not stop: %v\n%s", err, agent.Output())
	}
	bye := obs.waitFor(t, "offline status", statusIs(wire.PresenceOffline)).(*wire.Status)
	if bye.Boot != birth.Boot {
		t.Errorf("offline boot %s, birth boot %s", bye.Boot, birth.Boot)
	}

	// The outbox is empty afterwards and readable by the outbox command.
	out, errOut, code := run("outbox", "--config", cfg)
	if code != cli.ExitOK || !strings.Contains(out, "unsent     0 events") {
		t.Errorf("outbox: exit %d\n%s%s", code, out, errOut)
	}
}
