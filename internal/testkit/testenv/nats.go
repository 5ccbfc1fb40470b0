package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// NATS is a cluster of real Debian nats-server nodes started for one test:
// every node on free loopback ports, with JetStream (which nats-server's
// MQTT needs: it keeps sessions and QoS 1 messages in streams) replicated
// across the nodes, and an MQTT listener. Nodes are stopped by pid when the
// test ends; Stop and Start keep a node's ports and storage, so a test can
// take one node away and bring it back.
type NATS struct {
	Nodes []*NATSNode
	t     testing.TB
	bin   string
}

// NATSNode is one server of the cluster.
type NATSNode struct {
	Name    string
	MQTTURL string // tcp://127.0.0.1:PORT
	// MonitorURL is the node's HTTP monitoring endpoint (/varz, /jsz).
	MonitorURL string
	Dir        string // nats.conf, the JetStream storage and the log
	conf       string
	mqtt       string // host:port
	proc       *Process
}

// StartNATS starts a cluster of n nodes (3 for one that survives a node's
// loss) and waits until each answers MQTT with a persistent session, which
// means JetStream elected its leaders. Without nats-server the test is
// skipped (failed under CI=true; scripts/deps.d/nats.txt installs it).
// STOREWATCH_NATS_SERVER names another nats-server binary to run instead.
func StartNATS(t testing.TB, n int) *NATS {
	t.Helper()
	c := &NATS{t: t, bin: natsBin(t)}
	type ports struct{ client, cluster, mqtt, monitor int }
	ps := make([]ports, n)
	for i := range ps {
		ps[i] = ports{FreePort(t), FreePort(t), FreePort(t), FreePort(t)}
	}
	var routes []string
	for _, p := range ps {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p.cluster))
	}
	base := t.TempDir()
	for i, p := range ps {
		node := &NATSNode{Name: fmt.Sprintf("n%d", i+1), Dir: filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			mqtt: fmt.Sprintf("127.0.0.1:%d", p.mqtt)}
		node.MQTTURL = "tcp://" + node.mqtt
		node.MonitorURL = fmt.Sprintf("http://127.0.0.1:%d", p.monitor)
		node.conf = filepath.Join(node.Dir, "nats.conf")
		if err := os.MkdirAll(filepath.Join(node.Dir, "js"), 0o755); err != nil {
			t.Fatal(err)
		}
		conf := NATSConfig(node.Name, p.client, p.cluster, p.mqtt, filepath.Join(node.Dir, "js"), routes, n)
		conf += fmt.Sprintf("log_file: %q\nhttp: 127.0.0.1:%d\n", filepath.Join(node.Dir, "nats.log"), p.monitor)
		if err := os.WriteFile(node.conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, node)
	}
	for _, node := range c.Nodes {
		c.start(node)
	}
	for _, node := range c.Nodes {
		c.waitReady(node)
	}
	return c
}

// NATSConfig is the configuration of one node of a cluster of replicas
// nodes, as docs/hub.md shows it: the same settings the tests run.
func NATSConfig(name string, client, cluster, mqtt int, storeDir string, routes []string, replicas int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %s\n", name)
	fmt.Fprintf(&b, "listen: 127.0.0.1:%d\n", client)
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n}\n", storeDir)
	fmt.Fprintf(&b, "cluster {\n  name: storewatch\n  listen: 127.0.0.1:%d\n  routes: [\n", cluster)
	for _, r := range routes {
		fmt.Fprintf(&b, "    %s\n", r)
	}
	b.WriteString("  ]\n}\n")
	// stream_replicas: the MQTT sessions' and QoS 1 messages' streams are
	// kept on every node, so that losing one loses nothing.
	fmt.Fprintf(&b, "mqtt {\n  listen: 127.0.0.1:%d\n  stream_replicas: %d\n  consumer_replicas: %d\n  ack_wait: \"5s\"\n}\n", mqtt, replicas, replicas)
	return b.String()
}

func (c *NATS) start(node *NATSNode) {
	c.t.Helper()
	if node.proc != nil && !node.proc.Exited() {
		c.t.Fatalf("nats-server %s is already running", node.Name)
	}
	node.proc = Start(c.t, c.bin, "-c", node.conf)
}

// waitReady waits until the node accepts an MQTT client with a persistent
// session and a QoS 1 subscription: JetStream is up and has its leaders.
func (c *NATS) waitReady(node *NATSNode) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if node.proc.Exited() {
			c.t.Fatalf("nats-server %s ended: %s\nlog:\n%s", node.Name, node.proc.Output(), node.Log())
		}
		if Dialable(node.mqtt) && mqttReady(node.MQTTURL) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nats-server %s does not take MQTT sessions:\n%s", node.Name, node.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mqttReady(url string) bool {
	id := fmt.Sprintf("storewatch-ready-%d", time.Now().UnixNano())
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(false).SetConnectTimeout(5 * time.Second).
		SetAutoReconnect(false)
	cl := paho.NewClient(opts)
	if t := cl.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return false
	}
	defer func() {
		cl.Disconnect(100)
		// Drop the probe's persistent session again.
		clean := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).SetAutoReconnect(false))
		if t := clean.Connect(); t.WaitTimeout(10*time.Second) && t.Error() == nil {
			clean.Disconnect(100)
		}
	}()
	t := cl.Subscribe("storewatch/ready", 1, nil)
	return t.WaitTimeout(10*time.Second) && t.Error() == nil
}

// natsBin is the nats-server to run: STOREWATCH_NATS_SERVER (another
// build, to compare versions) or Debian's.
func natsBin(t testing.TB) string {
	if bin := os.Getenv("STOREWATCH_NATS_SERVER"); bin != "" {
		return bin
	}
	return LookPath(t, "nats-server")
}

// Version is the nats-server's version, e.g. "2.9.10".
func (c *NATS) Version() string {
	out, err := exec.Command(c.bin, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(string(out), "nats-server:")), "v")
}

// URLs are the nodes' MQTT URLs, for clients that fail over among them.
func (c *NATS) URLs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.MQTTURL)
	}
	return out
}

// Stop ends node i gracefully (SIGTERM).
func (c *NATS) Stop(i int) {
	if p := c.Nodes[i].proc; p != nil {
		p.Stop(10 * time.Second)
	}
}

// Kill ends node i with SIGKILL.
func (c *NATS) Kill(i int) {
	if p := c.Nodes[i].proc; p != nil {
		p.Kill()
	}
}

// Start runs node i again, on its ports and storage, and waits until it
// takes MQTT sessions.
func (c *NATS) Start(i int) {
	c.t.Helper()
	c.start(c.Nodes[i])
	c.waitReady(c.Nodes[i])
}

// Log returns a node's log so far, for failure messages.
func (n *NATSNode) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "nats.log"))
	return string(b)
}

// PID is the node's process id, 0 when it is not running.
func (n *NATSNode) PID() int {
	if n.proc == nil || n.proc.Exited() || n.proc.Cmd.Process == nil {
		return 0
	}
	return n.proc.Cmd.Process.Pid
}
