package broker

import (
	"context"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/wire"
)

// TestMosquittoWithGeneratedACL runs a real Mosquitto with the acl_file and
// password_file storehub prints, and the hub's external-broker client
// against it: the same confinement as the embedded broker.
func TestMosquittoWithGeneratedACL(t *testing.T) {
	access := NewAccess(agents(t))
	url := brokertest.StartMosquitto(t, access.MosquittoACL("storehub"), access.PasswordFile()+"storehub:"+hash(t, "hub-pw")+"\n")

	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x, err := StartExternal(ctx, ExternalConfig{URLs: []string{url}, ClientID: "storehub-test", Username: "storehub", Password: "hub-pw"}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()

	if _, err := connect(t, url, "acme-s0042-backoffice", "wrong", nil); err == nil {
		t.Error("mosquitto accepted a wrong password")
	}
	agent, err := connect(t, url, "acme-s0042-backoffice", "pw-42", &s42)
	if err != nil {
		t.Fatalf("agent login with a storehub-made hash: %v", err)
	}
	// The hub subscribes once connected; a retained birth reaches it either way.
	if tok := agent.Publish(s42.Topic(wire.ChannelStatus), 1, true, "birth"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	rec.wait(t, s42.Topic(wire.ChannelStatus)+" birth")
	if err := publish(agent, s43.Topic(wire.ChannelEvents), "spoof"); err != nil {
		t.Fatal(err) // Mosquitto acknowledges and drops a denied publish
	}
	if err := publish(agent, s42.Topic(wire.ChannelEvents), "own"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, s42.Topic(wire.ChannelEvents)+" own")
	if rec.seen(s43.Topic(wire.ChannelEvents)) {
		t.Fatal("Mosquitto delivered a publish outside the agent's subtree")
	}
}
