package broker

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/testenv"
	"github.com/storewatch/storewatch/wire"
)

// TestMosquittoWithGeneratedACL runs a real Mosquitto with the acl_file and
// password_file storehub prints, and the hub's external-broker client
// against it: the same confinement as the embedded broker.
func TestMosquittoWithGeneratedACL(t *testing.T) {
	mosquitto := testenv.LookPath(t, "mosquitto")
	dir := t.TempDir()
	access := NewAccess(agents(t))
	hubHash := hash(t, "hub-pw")
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(access.PasswordFile()+"storehub:"+hubHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acl"), []byte(access.MosquittoACL("storehub")), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// "user": started as root, Mosquitto would switch to its own user, who
	// cannot read the test's private directory.
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\npersistence false\nuser %s\n",
		port, filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"), me.Username)
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	proc := testenv.Start(t, mosquitto, "-c", filepath.Join(dir, "mosquitto.conf"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	testenv.WaitForPort(t, addr, 10*time.Second)
	url := "tcp://" + addr

	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x, err := StartExternal(ctx, config.ExternalBroker{URLs: []string{url}, ClientID: "storehub-test", Username: "storehub", Password: "hub-pw"}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()

	if _, err := connect(t, url, "acme-s0042-backoffice", "wrong", nil); err == nil {
		t.Error("mosquitto accepted a wrong password")
	}
	agent, err := connect(t, url, "acme-s0042-backoffice", "pw-42", &s42)
	if err != nil {
		t.Fatalf("agent login with a storehub-made hash: %v\n%s", err, proc.Output())
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
