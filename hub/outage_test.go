package hub

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// outageAgent connects the way storeagent's uplink does: a new client for
// every connection, numbered within its boot in the will and in the
// retained birth; after a loss it tries again every 2 s (longer than this
// test's hold-down, as a real agent's wait is against the real one).
type outageAgent struct {
	id   wire.AgentID
	boot string
	stop chan struct{}
	done chan struct{}
}

func startOutageAgent(t *testing.T, url string, id wire.AgentID) *outageAgent {
	a := &outageAgent{id: id, boot: fmt.Sprintf("boot-%s-%d", id.Store, time.Now().UnixNano()), stop: make(chan struct{}), done: make(chan struct{})}
	go a.run(url)
	t.Cleanup(a.halt)
	return a
}

func (a *outageAgent) status(state string, conn uint64) []byte {
	b, err := wire.Encode(&wire.Status{Header: wire.Header{AgentID: a.id, Boot: a.boot, Time: time.Now().UTC()}, State: state, Conn: conn})
	if err != nil {
		panic(err)
	}
	return b
}

func (a *outageAgent) run(url string) {
	defer close(a.done)
	topic := a.id.Topic(wire.ChannelStatus)
	for conn := uint64(1); ; conn++ {
		lost := make(chan struct{})
		var once sync.Once
		o := paho.NewClientOptions().AddBroker(url).SetClientID("agent-"+a.id.Store).SetCleanSession(true).
			SetAutoReconnect(false).SetConnectTimeout(2*time.Second).SetKeepAlive(5*time.Second).
			SetBinaryWill(topic, a.status(wire.PresenceOffline, conn), 1, true).
			SetConnectionLostHandler(func(paho.Client, error) { once.Do(func() { close(lost) }) })
		c := paho.NewClient(o)
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Publish(topic, 1, true, a.status(wire.PresenceOnline, conn)).WaitTimeout(5 * time.Second)
			select {
			case <-lost:
			case <-a.stop:
				c.Disconnect(100)
				return
			}
		}
		select {
		case <-time.After(2 * time.Second):
		case <-a.stop:
			return
		}
	}
}

// halt stops the agent for good (a store that lost power stops the same
// way while its broker is away: it simply never comes back).
func (a *outageAgent) halt() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	<-a.done
}

// The hub's external broker, a real Mosquitto, is stopped and started
// again (by its pid). While it is away the hub opens one hub-level
// incident and no store's; when it is back the hub listens for the settle
// time, and then the one store whose agent did not come back gets its
// agent_offline incident, and only that one.
func TestBrokerOutageIsOneHubIncidentNotOnePerStore(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	y := fmt.Sprintf(`
data_dir: %s
api: {listen: "127.0.0.1:0", tokens: [{name: jane, role: admin, token: %s}]}
broker: {mode: external, external: {urls: ["%s"], client_id: storehub-outage-test}}
policy:
  rules: {agent_offline: {hold_down: 1s, hold_up: 0s}}
  outage: {settle: 15s} # longer than the agents take to reconnect, on a busy machine too
`, t.TempDir(), token, m.URL)
	h := startYAML(t, y)

	var agents []*outageAgent
	for i := range 4 {
		agents = append(agents, startOutageAgent(t, m.URL, wire.AgentID{Tenant: "acme", Store: fmt.Sprintf("s%04d", 42+i), Agent: "backoffice"}))
	}
	online := func() int {
		n := 0
		for _, a := range h.Engine.Agents() {
			if a.Online {
				n++
			}
		}
		return n
	}
	testenv.WaitFor(t, 20*time.Second, "four agents online", func() bool { return online() == 4 })

	m.Stop()
	testenv.WaitFor(t, 30*time.Second, "the hub-level incident while the broker is stopped", func() bool {
		return len(incidents(t, h, "?kind=hub_outage&state=live")) == 1
	})
	if got := incidents(t, h, "?kind=agent_offline"); len(got) != 0 {
		t.Fatalf("store incidents while the hub could not hear its broker: %+v", got)
	}
	dead := agents[3]
	dead.halt() // its store loses power during the outage

	m.Start()
	testenv.WaitFor(t, 60*time.Second, "the hub-level incident resolved after the settle time", func() bool {
		got := incidents(t, h, "?kind=hub_outage")
		return len(got) == 1 && got[0].State == incident.StateResolved
	})
	testenv.WaitFor(t, 30*time.Second, "the dead store's incident", func() bool {
		return len(incidents(t, h, "?kind=agent_offline")) > 0
	})
	hub := incidents(t, h, "?kind=hub_outage")[0]
	offline := incidents(t, h, "?kind=agent_offline")
	if len(offline) != 1 || offline[0].Store != dead.id.Store {
		t.Fatalf("want one agent_offline incident, for %s: %+v", dead.id.Store, offline)
	}
	if offline[0].OpenedAt.Before(hub.ClosedAt) {
		t.Errorf("the dead store was decided at %v, before the settle time ended at %v", offline[0].OpenedAt, hub.ClosedAt)
	}
	if hub.Resolution != incident.ResolutionRecovered || hub.Priority != 1 || hub.Tenant != "" {
		t.Errorf("hub incident: %+v", hub)
	}
	if n := online(); n != 3 {
		t.Errorf("%d agents online after the outage, want the 3 that came back", n)
	}
}

// policy.outage in hub.yaml reaches the engine; what it leaves out keeps
// the built-in value.
func TestOutagePolicyFromConfig(t *testing.T) {
	cfg, err := ParseConfig("hub.yaml", []byte("policy: {outage: {settle: 45s, min_agents: 3}, grace: 5m}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, def := cfg.Policy.Policy(), incident.DefaultPolicy()
	if p.OutageSettle != 45*time.Second || p.OutageMin != 3 || p.OutageShare != def.OutageShare || p.OutageWindow != def.OutageWindow ||
		p.Grace != 5*time.Minute || p.FlapWindow != def.FlapWindow {
		t.Errorf("policy: %+v", p)
	}
	for _, bad := range []string{"policy: {outage: {share: 1.5}}\n", "policy: {outage: {settle: -1s}}\n"} {
		if _, err := ParseConfig("hub.yaml", []byte(bad), func(string) (string, bool) { return "", false }); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
