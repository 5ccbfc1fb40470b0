//go:build unix

package replicas

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

var storehub string // the built binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "storewatch-replicas-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	storehub = filepath.Join(dir, "storehub")
	if out, err := exec.Command("go", "build", "-o", storehub, "../../../cmd/storehub").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build storehub: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := testenv.PostgresMain(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	apiToken   = "replicas-test-token-0123456789"
	partitions = 6
	secret     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

// env is one cluster under test: the database, the brokers, the helpdesk
// and the replicas.
type env struct {
	t        testing.TB
	dsn      string
	pg       *testenv.Postgres // only when the test has its own server
	nats     *testenv.NATS
	desk     *desk
	lease    time.Duration
	replicas []*replica
}

type replica struct {
	name string
	api  string // host:port
	conf string
	proc *testenv.Process
}

// newEnv starts a 3-node NATS cluster, migrates a fresh database (the
// shared server, or own, a server of the test's own it may restart) and
// configures n replicas (not started).
func newEnv(t testing.TB, n int, own bool) *env {
	e := &env{t: t, lease: 4 * time.Second}
	if own {
		e.pg = testenv.StartPostgres(t)
		e.dsn = e.pg.NewDatabase(t)
	} else {
		e.dsn = testenv.PostgresDB(t)
	}
	if _, err := postgres.Migrate(context.Background(), e.dsn, nil); err != nil {
		t.Fatal(err)
	}
	e.nats = testenv.StartNATS(t, 3)
	t.Cleanup(func() { // before the database is dropped and the brokers stopped
		if t.Failed() {
			c, err := e.incidentCounts()
			tickets, calls, _ := e.desk.tickets()
			var logged, devices, notes, cursor, records, queued, dead int
			e.query(`SELECT count(*) FROM event_log`, nil, &logged)
			e.query(`SELECT count(*) FROM devices`, nil, &devices)
			e.query(`SELECT coalesce(max(seq), 0) FROM notifications`, nil, &notes)
			e.query(`SELECT coalesce(max(seq), 0) FROM cursors`, nil, &cursor)
			e.query(`SELECT count(*) FROM helpdesk_tickets`, nil, &records)
			e.query(`SELECT count(*) FROM helpdesk_calls`, nil, &queued)
			e.query(`SELECT count(*) FROM helpdesk_dead_letters`, nil, &dead)
			for _, node := range e.nats.Nodes {
				if resp, err := http.Get(node.MonitorURL + "/jsz?consumers=true"); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Logf("%s /jsz: %s", node.Name, pendingConsumers(b))
				}
			}
			t.Logf("at the end: %d fingerprints with incidents (%v), %d event-log entries, %d devices; notifications up to %d, cursor %d, "+
				"%d ticket records, %d calls queued, %d dead; %d tickets at the desk, %d opening calls; leases %v\n%s",
				len(c), err, logged, devices, notes, cursor, records, queued, dead, tickets, calls, e.holders(), e.logs())
		}
	})
	e.desk = newDesk(t)
	for i := range n {
		r := &replica{name: fmt.Sprintf("r%d", i+1), api: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}
		r.conf = filepath.Join(t.TempDir(), "hub.yaml")
		var urls []string
		for _, u := range e.nats.URLs() {
			urls = append(urls, fmt.Sprintf("%q", u))
		}
		y := fmt.Sprintf(`data_dir: %s
log: {level: info}
api: {listen: %q, tokens: [{name: ops, role: admin, token: %s}]}
broker: {mode: external, external: {urls: [%s], client_id: storehub}}
store: {type: postgres, dsn: %q}
cluster: {replica: %s, partitions: %d, lease: %s, api_url: "http://%s"}
`, t.TempDir(), r.api, apiToken, strings.Join(urls, ", "), e.dsn, r.name, partitions, e.lease, r.api) + e.desk.policyAndHelpdesk()
		if err := os.WriteFile(r.conf, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		e.replicas = append(e.replicas, r)
	}
	return e
}

// start runs replica i and waits until its API answers.
func (e *env) start(i int) {
	e.t.Helper()
	r := e.replicas[i]
	r.proc = testenv.Start(e.t, storehub, "serve", "--config", r.conf)
	testenv.WaitFor(e.t, 30*time.Second, r.name+"'s API", func() bool {
		if r.proc.Exited() {
			e.t.Fatalf("%s ended:\n%s", r.name, r.proc.Output())
		}
		return testenv.Answers("http://" + r.api + "/healthz")
	})
}

// settle waits until the running replicas (names) share the partitions
// fairly and each partition's session is subscribed by its holder: from
// then on partitions stay put while the test runs, and the broker keeps
// each partition's messages, whoever holds it. (Before the first
// subscription of a fresh installation there is nobody to keep them for.)
func (e *env) settle(names ...string) {
	e.t.Helper()
	testenv.WaitFor(e.t, 90*time.Second, fmt.Sprintf("%v sharing the partitions, each session subscribed", names), func() bool {
		h := e.holders()
		count := map[string]int{}
		for p := range partitions {
			count[h[p]]++
		}
		for _, n := range names {
			if c := count[n]; c < partitions/len(names) || c > (partitions+len(names)-1)/len(names) {
				return false
			}
		}
		if h[partitions] == "" {
			return false
		}
		for p := range partitions {
			r := e.byName(h[p])
			if r == nil || r.proc == nil || !subscribed(r, p) {
				return false
			}
		}
		return true
	})
}

// subscribed says whether replica r's log shows partition p's session
// subscribed since r last took p.
func subscribed(r *replica, p int) bool {
	log := r.proc.Output()
	i := strings.LastIndex(log, fmt.Sprintf(`msg="cluster: partition taken" part=cluster replica=%s partition=%d `, r.name, p))
	return i >= 0 && strings.Contains(log[i:], fmt.Sprintf("client_id=storehub-p%d ", p))
}

func (e *env) byName(name string) *replica {
	for _, r := range e.replicas {
		if r.name == name {
			return r
		}
	}
	return nil
}

// kill ends replica i with SIGKILL: no lease released, nothing flushed.
func (e *env) kill(i int) { e.replicas[i].proc.Kill() }

// stop ends replica i with SIGTERM, as a rolling restart does.
func (e *env) stop(i int) { e.replicas[i].proc.Stop(30 * time.Second) }

// logs are the replicas' outputs, for failure messages.
func (e *env) logs() string {
	var b strings.Builder
	for _, r := range e.replicas {
		if r.proc != nil {
			fmt.Fprintf(&b, "==== %s\n%s\n", r.name, tail(r.proc.Output(), 400))
		}
	}
	return b.String()
}

// pendingConsumers picks, from /jsz?consumers=true, the consumers with
// messages delivered and not acknowledged, or redelivered.
func pendingConsumers(jsz []byte) string {
	var z struct {
		AccountDetails []struct {
			StreamDetail []struct {
				Name           string `json:"name"`
				ConsumerDetail []struct {
					Name        string `json:"name"`
					AckPending  int    `json:"num_ack_pending"`
					Redelivered int    `json:"num_redelivered"`
					Pending     int    `json:"num_pending"`
				} `json:"consumer_detail"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := json.Unmarshal(jsz, &z); err != nil {
		return err.Error()
	}
	var out []string
	for _, a := range z.AccountDetails {
		for _, st := range a.StreamDetail {
			for _, c := range st.ConsumerDetail {
				if c.AckPending > 0 || c.Redelivered > 0 || c.Pending > 0 {
					out = append(out, fmt.Sprintf("%s/%s ack_pending %d redelivered %d pending %d", st.Name, c.Name, c.AckPending, c.Redelivered, c.Pending))
				}
			}
		}
	}
	return strings.Join(out, "; ")
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// query runs one SQL query on the test's database.
func (e *env) query(sql string, args []any, dest ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, sql, args...).Scan(dest...)
}

// holders maps each partition (and the delivery lease, partitions) to its
// live holder.
func (e *env) holders() map[int]string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[int]string{}
	conn, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		return out
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT partition, holder FROM cluster_leases WHERE holder <> '' AND expires_at > now()`)
	if err != nil {
		return out
	}
	var p int
	var h string
	pgx.ForEachRow(rows, []any{&p, &h}, func() error { out[p] = h; return nil })
	return out
}

// allHeldBy says whether every lease is held by one of names.
func (e *env) allHeldBy(names ...string) bool {
	h := e.holders()
	for p := range partitions + 1 {
		ok := false
		for _, n := range names {
			ok = ok || h[p] == n
		}
		if !ok {
			return false
		}
	}
	return true
}

// incidentCounts counts the paper_out incidents per fingerprint.
func (e *env) incidentCounts() (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT key, count(*) FROM incidents WHERE fault = 'paper_out' GROUP BY key`)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var k string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&k, &n}, func() error { out[k] = n; return nil })
	return out, err
}

// desk is a dispatch partner's webhook endpoint: it counts the opening
// calls per ticket (external id), and per webhook-id, the receiver's
// idempotency key.
type desk struct {
	srv *httptest.Server
	mu  sync.Mutex
	// opened: external id -> webhook-ids of incident.opened calls received
	opened map[string][]string
	first  map[string]time.Time // incident key -> when its opening call first came
	bad    []string
}

// policyAndHelpdesk are the hub file's sections every hub of these tests
// has: faults open incidents at once, and every incident becomes a ticket
// at this desk.
func (d *desk) policyAndHelpdesk() string {
	return fmt.Sprintf(`policy: {rules: {paper_out: {hold_down: 0s, hold_up: 0s}}}
helpdesk:
  namespace: replicas
  helpdesks:
    - name: fsm
      type: webhook
      webhook: {url: %q, secret: %q}
  routing:
    default: {helpdesk: fsm}
  outbox: {retry_min: 20ms, retry_max: 200ms}
`, d.srv.URL, secret)
}

func newDesk(t testing.TB) *desk {
	d := &desk{opened: map[string][]string{}, first: map[string]time.Time{}}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *desk) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ExternalID string `json:"external_id"`
			Incident   struct {
				Key string `json:"key"`
			} `json:"incident"`
		} `json:"data"`
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !strings.Contains(r.Header.Get("webhook-signature"), want) || json.Unmarshal(body, &ev) != nil {
		d.bad = append(d.bad, id)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if ev.Type == "incident.opened" {
		d.opened[ev.Data.ExternalID] = append(d.opened[ev.Data.ExternalID], id)
		if _, ok := d.first[ev.Data.Incident.Key]; !ok {
			d.first[ev.Data.Incident.Key] = time.Now()
		}
		fmt.Fprintf(w, `{"ticket_id": "FSM-%d"}`, len(d.opened))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// tickets says how many tickets were opened, how many opening calls came
// (a retry of one call, same webhook-id, included), and which tickets had
// two different opening calls: a ticket sent twice.
func (d *desk) tickets() (tickets, calls int, twice []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ext, ids := range d.opened {
		calls += len(ids)
		for _, id := range ids[1:] {
			if id != ids[0] {
				twice = append(twice, ext)
				break
			}
		}
	}
	return len(d.opened), calls, twice
}

// agent is one store's agent: a clean MQTT session, as storeagent's (paho
// resending its own store's messages on a resumed session races with a
// publish made while it reconnects, which -race reports), that tries the
// broker nodes in order from its first, as storeagent does with several
// broker URLs (uplink). Like storeagent it keeps what it published, and
// publishes again what the hub asks for (wire.OpResend); it does not check
// the request's signature (the agent's own tests do).
type agent struct {
	id   wire.AgentID
	boot string
	c    paho.Client

	mu     sync.Mutex
	seq    uint64
	sent   map[uint64]sentMsg // by sequence number
	resent int                // messages published again at the hub's request
}

type sentMsg struct {
	ch      wire.Channel
	payload []byte
}

func newAgent(t testing.TB, urls []string, first int, id wire.AgentID) *agent {
	return dialAgent(t, urls, first, id, "", "")
}

// dialAgent is newAgent with a user name and password (the embedded
// broker's agents).
func dialAgent(t testing.TB, urls []string, first int, id wire.AgentID, user, password string) *agent {
	a := &agent{id: id, boot: fmt.Sprintf("boot-%d", time.Now().UnixNano()), sent: map[uint64]sentMsg{}}
	// Like storeagent, it numbers its connections: the will registered with
	// a connection and the birth published on it carry the same number, so
	// that the hub ignores the will of a connection already replaced, and
	// every connection publishes its birth, saying where its numbers begin.
	var conn atomic.Uint64
	conn.Store(1)
	status := func(state string) []byte {
		st := &wire.Status{Header: wire.Header{AgentID: id, Boot: a.boot, Time: time.Now().UTC()}, State: state, Conn: conn.Load()}
		if state == wire.PresenceOnline {
			a.mu.Lock()
			st.Next = max(a.seq, 1) // the one in flight, if any, was not delivered
			a.mu.Unlock()
		}
		b, _ := wire.Encode(st)
		return b
	}
	topic := id.Topic(wire.ChannelStatus)
	opts := paho.NewClientOptions().SetClientID("agent-"+id.Store).SetCleanSession(true).
		SetBinaryWill(topic, status(wire.PresenceOffline), 1, true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).SetUsername(user).SetPassword(password)
	opts.SetReconnectingHandler(func(_ paho.Client, o *paho.ClientOptions) {
		conn.Add(1)
		o.SetBinaryWill(topic, status(wire.PresenceOffline), 1, true)
	})
	opts.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe(id.Topic(wire.ChannelCmdReq), 1, func(_ paho.Client, m paho.Message) {
			go a.answer(m.Payload()) // not on paho's goroutine: it publishes and waits
		})
		// QoS 0: paho resends its stored QoS 1 messages on a reconnect
		// while its handlers run, and a QoS 1 publish made meanwhile
		// races with that (-race reports it); a QoS 0 one is never stored.
		// storeagent makes a new client for every connection instead.
		birth := status(wire.PresenceOnline)
		go c.Publish(topic, 0, true, birth) // paho's own goroutine must not wait here
	})
	for i := range urls {
		opts.AddBroker(urls[(first+i)%len(urls)])
	}
	a.c = paho.NewClient(opts)
	if tk := a.c.Connect(); !tk.WaitTimeout(30*time.Second) || tk.Error() != nil {
		t.Fatalf("agent %s: connect: %v", id, tk.Error())
	}
	t.Cleanup(func() { a.c.Disconnect(100) })
	// The first birth is at the broker before the agent reports anything
	// (the one OnConnect sent too is the same birth again, which the hub
	// ignores).
	if err := a.publish(wire.ChannelStatus, status(wire.PresenceOnline), true); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *agent) header(seq uint64) wire.Header {
	return wire.Header{AgentID: a.id, Boot: a.boot, Seq: seq, Time: time.Now().UTC()}
}

// send publishes with QoS 1 and waits for the broker's PUBACK, trying
// again after a lost connection, as the agent's outbox does.
func (a *agent) send(ch wire.Channel, m wire.Message, retain bool) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	if seq := m.Head().Seq; seq > 0 {
		a.mu.Lock()
		a.sent[seq] = sentMsg{ch, b}
		a.mu.Unlock()
	}
	return a.publish(ch, b, retain)
}

func (a *agent) publish(ch wire.Channel, b []byte, retain bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		tk := a.c.Publish(a.id.Topic(ch), 1, retain, b)
		if tk.WaitTimeout(10*time.Second) && tk.Error() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent %s: publish %s: %v", a.id, ch, tk.Error())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// next hands out the next sequence number.
func (a *agent) next() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	return a.seq
}

// answer takes a request from the hub: a resend publishes again what it
// names and says what there was.
func (a *agent) answer(payload []byte) {
	req, err := wire.Decode[wire.CommandRequest](payload)
	if err != nil || req.Op != wire.OpResend {
		return
	}
	res := &wire.CommandResponse{Header: a.header(0), ID: req.ID, Op: req.Op, OK: true}
	spans, err := wire.ParseSpans(req.Args["seqs"])
	if err != nil {
		res.OK, res.Code, res.Error = false, "failed", err.Error()
	} else {
		var out wire.ResendResult
		var gone []wire.SeqSpan
		for _, sp := range spans {
			for n := sp.From; n <= sp.To; n++ {
				a.mu.Lock()
				m, ok := a.sent[n]
				a.mu.Unlock()
				if !ok {
					gone = append(gone, wire.SeqSpan{From: n, To: n})
					continue
				}
				if a.publish(m.ch, m.payload, false) == nil {
					out.Resent++
				}
			}
		}
		out.Gone = wire.FormatSpans(gone)
		a.mu.Lock()
		a.resent += out.Resent
		a.mu.Unlock()
		res.Result, _ = json.Marshal(out)
	}
	if b, err := wire.Encode(res); err == nil {
		a.publish(wire.ChannelCmdRes, b, false)
	}
}

// beat publishes a heartbeat, as storeagent does every telemetry interval:
// numbered, so that the hub sees a lost last fault as a gap.
func (a *agent) beat() error {
	return a.send(wire.ChannelMetrics, &wire.Metrics{Header: a.header(a.next()), Heartbeat: &wire.Heartbeat{}}, false)
}

// fault reports a new paper_out fault on device dev.
func (a *agent) fault(dev string) error { return a.faultWith(dev, a.send) }

func (a *agent) faultWith(dev string, send func(wire.Channel, wire.Message, bool) error) error {
	ev := &wire.Event{Header: a.header(a.next()), Device: dev, Kind: "receipt_printer", Since: time.Now().UTC(),
		Faults: []wire.Fault{wire.NewFault(wire.FaultPaperOut, "DLE EOT 4 = 0x72")}}
	ev.State = wire.StateOf(ev.Faults)
	return send(wire.ChannelEvents, ev, false)
}

// apiIncidents lists the paper_out incidents' ids through replica i's API.
func (e *env) apiIncidents(i int) []string {
	e.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+e.replicas[i].api+"/api/v1/incidents?fault=paper_out&limit=5000", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s: %v", e.replicas[i].name, err)
	}
	var ids []string
	for _, x := range out {
		ids = append(ids, x.ID)
	}
	return ids
}

// metric reads one sample of replica i's /metrics (name with its labels,
// as the exposition writes them); 0 when it is not there.
func (e *env) metric(i int, name string) float64 {
	e.t.Helper()
	resp, err := http.Get("http://" + e.replicas[i].api + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// apiLen is the length of the list replica i's API answers path with (0
// when it does not answer).
func (e *env) apiLen(i int, path string) int {
	req, _ := http.NewRequest("GET", "http://"+e.replicas[i].api+path, nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out []json.RawMessage
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	return len(out)
}
