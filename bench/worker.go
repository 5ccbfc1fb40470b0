package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/uplink"
	"github.com/storewatch/storewatch/wire"
)

// storesPerWorker keeps a worker under the usual 20,000 open files: every
// agent holds a broker connection and its outbox file.
const storesPerWorker = 4000

// WorkerSpec is what one worker process simulates: stores Lo..Hi-1, each
// with the real uplink (its own bbolt outbox and MQTT connection).
type WorkerSpec struct {
	Lo, Hi int
	// Brokers are the broker's URLs: one, or the nodes of a cluster, which
	// each agent lists starting from a different one (store i from node i
	// mod n), so that the agents spread over the nodes.
	Brokers   []string
	Auth      bool // log in as tenant-store-agent with Password (the embedded broker)
	Password  string
	OutboxDir string
	Spread    time.Duration // uplink StartDelay: agents connect at random times within it
	// AgentBackoff gives the stores without a WAN episode the uplink's own
	// reconnect backoff (1 s doubling to 30 s) instead of the harness's
	// 0.5 to 2 s, which the WAN cuts need to end when the link is restored:
	// against a broker that drops connections when overloaded, thousands
	// of agents retrying every 2 s make a storm no real chain makes.
	AgentBackoff bool
	// HubKey is the hub's public key (base64), storeagent's
	// remote.hub_public_key: each agent answers the hub's signed resend
	// requests as storeagent does (agent.Remote over the uplink), from the
	// events its outbox keeps after their PUBACK (outbox.keep_sent, the
	// agent's default). "" answers none.
	HubKey   string
	Timing   EpisodeTiming
	Episodes []Episode // for these stores
}

// workerCommand is a line from the harness to a worker: ready (the agents
// are open), run (connect), burst (every device reports its first state),
// faults (play the episodes from Start), stop.
type workerCommand struct {
	Cmd   string    `json:"cmd"`
	Start time.Time `json:"start,omitzero"`
}

// workerReply answers a command.
type workerReply struct {
	Error  string   `json:"error,omitempty"`
	Failed int      `json:"failed,omitempty"` // burst reports that failed
	Errors []string `json:"errors,omitempty"` // episodes that failed
	Log    []string `json:"log,omitempty"`    // the agents' warnings, counted (stop)
	Depth  int      `json:"depth,omitempty"`  // records still in the agents' outboxes (stop)
}

// workerProc is the harness's side of a worker.
type workerProc struct {
	cmd *exec.Cmd
	enc *json.Encoder
	dec *json.Decoder
	mu  sync.Mutex
}

// startWorker runs this test binary again as a chain worker (TestChainWorker
// with -chain-worker): commands on its stdin, replies on its file 3.
func startWorker(t testing.TB, spec WorkerSpec) *workerProc {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestChainWorker$", "-chain-worker")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chain worker: %v", err)
	}
	w.Close()
	p := &workerProc{cmd: cmd, enc: json.NewEncoder(in), dec: json.NewDecoder(r)}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		r.Close()
	})
	if err := p.enc.Encode(spec); err != nil {
		t.Fatalf("chain worker: %v", err)
	}
	return p
}

func (p *workerProc) pid() int { return p.cmd.Process.Pid }

// call sends a command and waits for the reply; a worker that fails or
// dies gives a reply with Error.
func (p *workerProc) call(c workerCommand) workerReply {
	p.mu.Lock()
	defer p.mu.Unlock()
	var r workerReply
	if err := p.enc.Encode(c); err != nil {
		return workerReply{Error: fmt.Sprintf("worker %d: %s: %v", p.pid(), c.Cmd, err)}
	}
	if err := p.dec.Decode(&r); err != nil {
		return workerReply{Error: fmt.Sprintf("worker %d: %s: no reply: %v", p.pid(), c.Cmd, err)}
	}
	return r
}

// simAgent is one simulated store's agent: the real uplink, fed events the
// way the collector feeds it.
type simAgent struct {
	id   wire.AgentID
	u    *uplink.Uplink
	link *Link
}

func (a *simAgent) report(ctx context.Context, d ChainDevice, prev wire.HealthState, faults ...wire.Fault) error {
	return a.u.Event(ctx, wire.Event{Device: d.ID, Kind: d.Kind, State: wire.StateOf(faults), Previous: prev,
		Faults: faults, Since: time.Now().UTC(), Reason: "bench"})
}

// ChainWorker is the worker process's side: it reads a WorkerSpec and then
// commands from in, and writes a reply to out for each.
func ChainWorker(in io.Reader, out io.Writer) error {
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	var spec WorkerSpec
	if err := dec.Decode(&spec); err != nil {
		return fmt.Errorf("chain worker: spec: %w", err)
	}
	layout := ChainStore()
	byID := map[string]ChainDevice{}
	for _, d := range layout {
		byID[d.ID] = d
	}
	wan := map[int]bool{}
	for _, e := range spec.Episodes {
		if e.Kind == EpWANCut || e.Kind == EpWANBlip {
			wan[e.Store] = true
		}
	}
	dir, err := os.MkdirTemp(spec.OutboxDir, "bench-chain-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// A harness that dies (killed, interrupted) cannot stop its workers:
	// they stop themselves, and take their outboxes with them.
	parent := os.Getppid()
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != parent {
				os.RemoveAll(dir)
				os.Exit(3)
			}
		}
	}()
	agents := make([]*simAgent, spec.Hi-spec.Lo)
	logs := newTally()
	log := slog.New(logs)
	defer func() {
		for _, a := range agents {
			if a != nil && a.link != nil {
				a.link.Close()
			}
		}
	}()
	var openErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(agents) {
					return
				}
				a, err := newSimAgent(spec, spec.Lo+i, wan[spec.Lo+i], dir, layout, log)
				mu.Lock()
				if err != nil && openErr == nil {
					openErr = err
				}
				agents[i] = a
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs sync.WaitGroup
	defer runs.Wait()
	defer cancel()
	for {
		var c workerCommand
		if err := dec.Decode(&c); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		var r workerReply
		switch c.Cmd {
		case "ready":
			if openErr != nil {
				r.Error = openErr.Error()
			}
		case "run":
			for _, a := range agents {
				runs.Go(func() { _ = a.u.Run(ctx) })
			}
		case "burst":
			var failed atomic.Int64
			var bw sync.WaitGroup
			for _, a := range agents {
				for _, d := range layout {
					bw.Go(func() {
						if err := a.report(ctx, d, wire.StateUnknown); err != nil {
							failed.Add(1)
						}
					})
				}
			}
			bw.Wait()
			r.Failed = int(failed.Load())
		case "faults":
			var ew sync.WaitGroup
			for _, e := range spec.Episodes {
				a := agents[e.Store-spec.Lo]
				ew.Go(func() {
					time.Sleep(time.Until(c.Start.Add(e.At)))
					if err := inject(ctx, a, e, byID[e.Device], spec.Timing); err != nil {
						mu.Lock()
						r.Errors = append(r.Errors, fmt.Sprintf("episode %s at %s: %v", e.Kind, StoreID(e.Store), err))
						mu.Unlock()
					}
				})
			}
			ew.Wait()
		case "stop":
			for _, a := range agents {
				st := a.u.Stats().Outbox
				r.Depth += st.Events
			}
			cancel()
			runs.Wait()
			r.Log = logs.Lines()
		default:
			r.Error = "unknown command " + c.Cmd
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
		if c.Cmd == "stop" {
			return nil
		}
	}
}

func newSimAgent(spec WorkerSpec, i int, wan bool, dir string, layout []ChainDevice, log *slog.Logger) (*simAgent, error) {
	id := wire.AgentID{Tenant: Tenant, Store: StoreID(i), Agent: AgentName}
	a := &simAgent{id: id}
	urls := AgentBrokers(spec.Brokers, i)
	if wan {
		// The store's one way out is its WAN link, to its first node: a
		// cut must not be routed around through another node.
		l, err := NewLink(strings.TrimPrefix(urls[0], "tcp://"))
		if err != nil {
			return nil, err
		}
		a.link, urls = l, []string{"tcp://" + l.Addr}
	}
	b := config.Broker{URLs: urls, KeepAlive: time.Minute}
	if spec.Auth {
		b.Username, b.Password = Tenant+"-"+id.Store+"-"+AgentName, spec.Password
	}
	rmin, rmax := 500*time.Millisecond, 2*time.Second
	if spec.AgentBackoff && !wan {
		rmin, rmax = 0, 0 // the uplink's defaults
	}
	u, err := uplink.New(uplink.Options{
		ID: id, Broker: b, Version: "bench", Logger: log,
		Outbox:       config.Outbox{Path: filepath.Join(dir, id.Store+".db"), MaxBytes: 8 << 20, MaxAge: time.Hour, KeepSent: config.DefaultKeepSent},
		StartDelay:   spec.Spread,
		ReconnectMin: rmin, ReconnectMax: rmax,
		CommandWorkers: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", id.Store, err)
	}
	a.u = u
	if spec.HubKey != "" {
		// The resend requests only: no collector, no devices to query.
		r, err := agent.NewRemote(id, spec.HubKey, nil, nil, nil, nil, log)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", id.Store, err)
		}
		r.SetResender(u)
		u.SetCommandHandler(r)
	}
	inv := wire.Inventory{StoreInfo: wire.StoreInfo{Name: "Bench store " + id.Store, TimeZone: "UTC"}}
	for _, d := range layout {
		inv.Devices = append(inv.Devices, wire.DeviceInfo{ID: d.ID, Kind: d.Kind, Driver: d.Driver, Location: d.Location})
	}
	if err := u.SetInventory(inv); err != nil {
		return nil, err
	}
	return a, nil
}

// inject plays one episode.
func inject(ctx context.Context, a *simAgent, e Episode, d ChainDevice, t EpisodeTiming) error {
	sleep := func(d time.Duration) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	switch e.Kind {
	case EpWANCut, EpWANBlip:
		a.link.Cut()
		err := sleep(e.For)
		a.link.Restore()
		return err
	case EpFlap:
		state := wire.StateOK
		for c := range e.Changes {
			var err error
			if c%2 == 0 {
				err = a.report(ctx, d, state, wire.NewFault(e.Fault, "bench: flapping"))
				state = wire.StateUnreachable
			} else {
				err = a.report(ctx, d, state)
				state = wire.StateOK
			}
			if err != nil {
				return err
			}
			if c < e.Changes-1 {
				if err := sleep(t.FlapStep); err != nil {
					return err
				}
			}
		}
		return nil
	default:
		f := wire.NewFault(e.Fault, "bench: "+string(e.Kind))
		if err := a.report(ctx, d, wire.StateOK, f); err != nil {
			return err
		}
		if err := sleep(e.For); err != nil {
			return err
		}
		return a.report(ctx, d, wire.StateOf([]wire.Fault{f}))
	}
}

// AgentBrokers is store i's broker.urls: every node, starting from node
// i mod n, as an operator spreads a chain's stores over a broker cluster.
func AgentBrokers(nodes []string, i int) []string {
	out := make([]string, 0, len(nodes))
	for k := range nodes {
		out = append(out, nodes[(i+k)%len(nodes)])
	}
	return out
}
