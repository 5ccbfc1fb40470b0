package testenv

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// A message published with QoS 1 on one node reaches a persistent session
// on another that was away when it was sent, and still does after the
// node that received it is stopped: the cluster keeps it replicated.
func TestNATSClusterKeepsQoS1ForAPersistentSession(t *testing.T) {
	c := StartNATS(t, 3)
	got := make(chan string, 10)
	// A client tries again as storeagent does: right after a node stops,
	// the session's stream may still be electing its new leader, and the
	// node closes the connection meanwhile (EOF; seen in CI).
	sub := func(url string) paho.Client {
		cl := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("reader").SetCleanSession(false).
			SetConnectRetry(true).SetConnectRetryInterval(500 * time.Millisecond).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }))
		if tk := cl.Connect(); !tk.WaitTimeout(30*time.Second) || tk.Error() != nil {
			t.Fatalf("connect %s: %v", url, tk.Error())
		}
		return cl
	}
	r := sub(c.Nodes[2].MQTTURL)
	if tk := r.Subscribe("storewatch/v1/t/s/a/events", 1, nil); !tk.WaitTimeout(20*time.Second) || tk.Error() != nil {
		t.Fatalf("subscribe: %v", tk.Error())
	}
	r.Disconnect(100)

	w := paho.NewClient(paho.NewClientOptions().AddBroker(c.Nodes[0].MQTTURL).SetClientID("writer"))
	if tk := w.Connect(); !tk.WaitTimeout(20*time.Second) || tk.Error() != nil {
		t.Fatalf("connect: %v", tk.Error())
	}
	if tk := w.Publish("storewatch/v1/t/s/a/events", 1, false, "kept"); !tk.WaitTimeout(20*time.Second) || tk.Error() != nil {
		t.Fatalf("publish: %v", tk.Error())
	}
	w.Disconnect(100)
	c.Stop(0)

	r = sub(c.Nodes[1].MQTTURL)
	defer r.Disconnect(100)
	select {
	case m := <-got:
		if m != "kept" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the persistent session did not get the message kept while it was away\n%s", c.Nodes[1].Log())
	}
}
