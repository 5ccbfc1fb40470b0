package enrol

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// With an external Mosquitto, the hub rewrites its acl_file and
// password_file at every enrolment and revocation and has it reload them:
// an enrolled agent logs in without a hand edit and may publish in its
// subtree only; a revoked one is disconnected and refused.
func TestMosquittoFollowsEnrolmentWithoutAHandEdit(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hubHash, _ := broker.HashPassword("hub-secret-hub-secret", 1000)
	pidFile := filepath.Join(dir, "mosquitto.pid")
	cfg := Config{BrokerURLs: []string{"tcp://127.0.0.1:1883"}, Mosquitto: Mosquitto{ACLFile: filepath.Join(dir, "acl"),
		PasswordFile: filepath.Join(dir, "passwd"), HubUser: "storehub", HubPasswordHash: hubHash}}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	svc, err := New(Options{Store: st, Config: cfg, Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{Config: []string{
		"allow_anonymous false", "password_file " + cfg.Mosquitto.PasswordFile, "acl_file " + cfg.Mosquitto.ACLFile}})
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(m.PID())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc.o.Config.Mosquitto.PIDFile = pidFile

	tok, err := svc.CreateToken(TokenRequest{Tenant: "acme"}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := brokertest.Dial(t, m.URL, brokertest.Options{User: "acme-S0042-main", Password: "guess-guess-guess"}); err == nil {
		t.Fatal("Mosquitto takes an agent that is not enrolled")
	}
	res, err := svc.Enrol(&wire.EnrolRequest{V: 1, Token: tok.Token, Store: "S0042", Agent: "main"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	login := brokertest.Options{User: res.Username, Password: res.Password}
	testenv.WaitFor(t, 10*time.Second, "Mosquitto to take the enrolled agent's login", func() bool {
		_, err := brokertest.Dial(t, m.URL, login)
		return err == nil
	})
	c, err := brokertest.Dial(t, m.URL, login)
	if err != nil {
		t.Fatal(err)
	}
	// Its own subtree only: Mosquitto drops the other publish silently, so
	// the hub's user reads what arrives.
	hub, err := brokertest.Dial(t, m.URL, brokertest.Options{User: "storehub", Password: "hub-secret-hub-secret"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	hub.Subscribe(wire.TopicRoot+"/#", 1, func(_ paho.Client, msg paho.Message) { got <- msg.Topic() }).Wait()
	other := wire.AgentID{Tenant: "acme", Store: "S0043", Agent: "main"}
	c.Publish(other.Topic(wire.ChannelEvents), 1, false, "x").Wait()
	c.Publish(res.AgentID.Topic(wire.ChannelEvents), 1, false, "x").Wait()
	if topic := <-got; topic != res.AgentID.Topic(wire.ChannelEvents) {
		t.Fatalf("the hub got %s first; the agent wrote outside its subtree", topic)
	}

	if _, err := svc.RevokeAgent(res.AgentID, "admin"); err != nil {
		t.Fatal(err)
	}
	// Mosquitto re-checks connected clients when it reloads the files.
	testenv.WaitFor(t, 10*time.Second, "Mosquitto to disconnect the revoked agent", func() bool { return !c.IsConnected() })
	testenv.WaitFor(t, 10*time.Second, "Mosquitto to refuse the revoked agent", func() bool {
		_, err := brokertest.Dial(t, m.URL, login)
		return err != nil
	})
}
