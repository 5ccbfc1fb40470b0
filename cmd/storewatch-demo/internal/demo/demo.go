package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/config"
	_ "github.com/storewatch/storewatch/drivers/all" // the agent's drivers
	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/broker"
)

// Speeds: the default runs a store hour per real minute. Above MaxSpeed the
// compressed hold-downs would be shorter than a busy machine's hiccups.
const (
	DefaultSpeed = 60
	MaxSpeed     = 300
	// DefaultListen is the API's address unless it is taken.
	DefaultListen = "127.0.0.1:8080"
)

// Options configure a demo run.
type Options struct {
	// Speed compresses the day: store seconds per real second (1 to
	// MaxSpeed; 0 means DefaultSpeed).
	Speed float64
	// DataDir keeps the hub's ticket store, the agent's outbox, both
	// configurations and the log. Empty: a temporary directory, deleted at
	// Close.
	DataDir string
	// Listen is the API's address. Empty: DefaultListen, or a free port if
	// that is taken.
	Listen string
	// Out receives the day: a stream of lines in time order, or with Live
	// a table redrawn in place (nil: discarded).
	Out io.Writer
	// Live redraws the day's tickets and latest lines as one table in place
	// (Out is a terminal of Width columns; 0: no limit).
	Live  bool
	Width int
	// Log receives the hub's and the agent's logs (nil: demo.log in the
	// data directory).
	Log io.Writer
	// Version is the agent version the hub is told.
	Version string
}

// Demo is a running demo.
type Demo struct {
	clock   dayClock
	dir     string
	tempDir bool
	logFile *os.File
	devices []*device
	hub     *hub.Hub
	out     *ticker

	token   string
	apiURL  string
	console string

	devCtx    context.Context
	devCancel context.CancelFunc
	cancel    context.CancelFunc // script, ticker and agent
	agentDone chan struct{}
	wg        sync.WaitGroup
	dayDone   chan struct{}
	dayErr    error

	closeOnce sync.Once
	closeErr  error
}

// noEnv keeps the user's STOREWATCH_* variables out of the demo's
// configurations.
func noEnv(string) (string, bool) { return "", false }

// Start brings up the hub, the virtual store and its agent, prints how to
// reach them, and starts the day. Close stops everything.
func Start(ctx context.Context, o Options) (_ *Demo, err error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Speed == 0 {
		o.Speed = DefaultSpeed
	}
	if o.Speed < 1 || o.Speed > MaxSpeed {
		return nil, fmt.Errorf("demo: speed %g: want 1 (real time) to %d", o.Speed, MaxSpeed)
	}
	if runtime.GOOS == "windows" {
		return nil, errors.New("demo: the virtual store's serial devices need pseudo-terminals (Linux, macOS, BSD; on Windows use WSL)")
	}
	d := &Demo{dayDone: make(chan struct{}), agentDone: make(chan struct{})}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	d.devCtx, d.devCancel = context.WithCancel(context.WithoutCancel(ctx))
	if d.dir = o.DataDir; d.dir == "" {
		if d.dir, err = os.MkdirTemp("", "storewatch-demo-"); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.tempDir = true
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "agent"), 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	logTo := o.Log
	if logTo == nil {
		if d.logFile, err = os.OpenFile(filepath.Join(d.dir, "demo.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		logTo = d.logFile
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))

	// The slow parts first (PTYs, the password hash: PBKDF2), so that the
	// store opens, at the clock's start, just before the hub and the agent
	// start.
	if d.devices, err = startDevices(d.devCtx, storeDevices()); err != nil {
		return nil, err
	}
	d.token = randomHex(16)
	password := randomHex(16)
	hash, err := broker.HashPassword(password, broker.DefaultIterations)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.hubDir(), 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	hubKey, err := signingKey(filepath.Join(d.dir, "hub", "signing_key.pem"))
	if err != nil {
		return nil, err
	}
	// The chain's history is slow too (a few thousand records): written
	// before the clock starts, so the day's timings do not depend on it.
	// It goes where the hub's configuration puts its store (startHub).
	if err := seedHistory(filepath.Join(d.hubDir(), "hub.db"), time.Now(), pickSite(time.Now()).loc); err != nil {
		return nil, err
	}
	now := time.Now()
	st := pickSite(now)
	d.clock = dayClock{start: now, speed: o.Speed}
	if err := d.startHub(ctx, o.Listen, hash, now.Sub(st.opened), st, log); err != nil {
		return nil, err
	}
	d.apiURL = "http://" + d.hub.APIAddr()
	d.console = consoleURL(ctx, d.apiURL)

	agentDir := filepath.Join(d.dir, "agent")
	agentFile := filepath.Join(d.dir, "agent.yaml")
	if err := writeConfig(agentFile, agentYAML(st, d.devices, "tcp://"+d.hub.MQTTAddrs()[0], password, hubKey, agentDir)); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(agentFile)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	acfg, lines, err := config.Parse(agentFile, data, noEnv)
	if err != nil {
		return nil, fmt.Errorf("demo: agent configuration: %w", err)
	}
	compressAgent(acfg, d.clock)
	byID := map[string]*device{}
	for _, dev := range d.devices {
		byID[dev.spec.ID] = dev
		if dev.spec.PowerOn == 0 {
			if err := dev.powerOn(d.devCtx); err != nil {
				return nil, err
			}
		}
	}
	// Nothing may fail after the agent is built: only Run releases it.
	ag, err := agent.New(acfg, lines, agent.Options{Logger: log.With("side", "agent"), Version: o.Version,
		OutboxCommitInterval: d.clock.compress(outboxCommitEvery)})
	if err != nil {
		return nil, fmt.Errorf("demo: agent: %w", err)
	}
	storeName := acfg.Site.Name
	d.out = newTicker(o.Out, d.clock, d.hub.Store, now, o.Live, o.Width)
	d.header(o.Out, storeName, st)

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel = cancel
	go func() {
		defer close(d.agentDone)
		if err := ag.Run(runCtx); err != nil {
			log.Error("agent stopped", "err", err)
		}
	}()
	d.wg.Go(func() { d.out.follow(runCtx) })
	s := &script{clock: d.clock, devs: byID, engine: d.hub.Engine, out: d.out, power: d.devCtx, name: storeName}
	d.wg.Go(func() {
		defer close(d.dayDone)
		if d.dayErr = s.run(runCtx); d.dayErr != nil {
			return
		}
		d.out.catchUp() // the day's last ticket changes before its end
		d.out.narrate(time.Now(), "end of the scripted day")
		d.dayErr = d.out.summary()
	})
	return d, nil
}

// startHub writes hub.yaml, loads it, compresses its policy and starts the
// hub. When the default API address is taken, it takes a free port.
func (d *Demo) startHub(ctx context.Context, listen, hash string, late time.Duration, st site, log *slog.Logger) error {
	fallback := listen == ""
	if fallback {
		listen = DefaultListen
	}
	for {
		file := filepath.Join(d.dir, "hub.yaml")
		if err := writeConfig(file, hubYAML(d.hubDir(), listen, d.token, hash)); err != nil {
			return err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		cfg, err := hub.ParseConfig(file, data, noEnv)
		if err != nil {
			return fmt.Errorf("demo: hub configuration: %w", err)
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if p := hub.BoltPath(cfg); p != filepath.Join(d.hubDir(), "hub.db") {
			return fmt.Errorf("demo: the hub's store is %s, not where the history was written", p)
		}
		compressHub(cfg, d.clock, late, st)
		h, err := hub.Start(context.WithoutCancel(ctx), cfg, log.With("side", "hub"))
		if err != nil && fallback && errors.Is(err, syscall.EADDRINUSE) {
			fallback, listen = false, "127.0.0.1:0"
			continue
		}
		if err != nil {
			return fmt.Errorf("demo: hub: %w", err)
		}
		d.hub = h
		return nil
	}
}

// hubDir is the hub's data directory.
func (d *Demo) hubDir() string { return filepath.Join(d.dir, "hub") }

// consoleURL returns the web console's address if this hub serves one.
func consoleURL(ctx context.Context, api string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := api + "/console/"
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return ""
	}
	c := &http.Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusNotImplemented {
		return ""
	}
	return u
}

func (d *Demo) header(w io.Writer, name string, st site) {
	var tcp, serial int
	for _, dev := range d.devices {
		if dev.spec.Port == 0 {
			serial++
		} else {
			tcp++
		}
	}
	fmt.Fprintf(w, "storewatch demo: the first %d minutes of a trading day at %s (%s/%s, %s), %gx real time\n",
		int(dayEnd.Minutes()), name, tenant, storeID, st.zone, d.clock.speed)
	fmt.Fprintf(w, "  API      %s/api/v1/incidents   with the header \"Authorization: Bearer %s\"\n", d.apiURL, d.token)
	if d.console != "" {
		fmt.Fprintf(w, "  console  %s   (log in with the token)\n", d.console)
	}
	fmt.Fprintf(w, "  CLI      go run ./cmd/storehub incidents --api %s --token %s\n", d.apiURL, d.token)
	fmt.Fprintf(w, "  MQTT     tcp://%s (embedded broker; the agent logs in as %s-%s-%s)\n", d.hub.MQTTAddrs()[0], tenant, storeID, agentID)
	fmt.Fprintf(w, "  store    %d emulated devices on TCP, %d on serial PTYs, and the store PC's own checks\n", tcp, serial)
	fmt.Fprintf(w, "  history  %d days of the chain's %d other stores, for the console's reports (which model fails most, when the load comes)\n",
		historyDays, historyStores)
	keep := "deleted when the demo stops; --data DIR keeps it"
	if !d.tempDir {
		keep = "kept"
	}
	fmt.Fprintf(w, "  data     %s (hub.yaml, agent.yaml, demo.log; %s)\n", d.dir, keep)
	fmt.Fprintf(w, "Times are store time: one real second is %g store seconds. Ctrl-C stops everything.\n\n", d.clock.speed)
}

// APIURL is the hub's API, http://host:port.
func (d *Demo) APIURL() string { return d.apiURL }

// ConsoleURL is the web console's address, or "" if the hub has none.
func (d *Demo) ConsoleURL() string { return d.console }

// Token is the API's bearer token (role admin).
func (d *Demo) Token() string { return d.token }

// Dir is the data directory.
func (d *Demo) Dir() string { return d.dir }

// DayDone is closed when the scripted day is over (and its ticket summary
// printed).
func (d *Demo) DayDone() <-chan struct{} { return d.dayDone }

// Close ends the day, stops the agent (which says goodbye to the broker and
// flushes its outbox), the hub and the emulators, and deletes a temporary
// data directory. It returns the first error of the run.
func (d *Demo) Close() error {
	d.closeOnce.Do(func() {
		var errs []error
		if d.cancel != nil {
			d.cancel()
			<-d.agentDone
			d.wg.Wait()
			if d.dayErr != nil && !errors.Is(d.dayErr, context.Canceled) {
				errs = append(errs, d.dayErr)
			}
		}
		if d.hub != nil {
			errs = append(errs, d.hub.Close())
		}
		for _, dev := range d.devices {
			errs = append(errs, dev.close())
		}
		if d.devCancel != nil {
			d.devCancel()
		}
		if d.logFile != nil {
			errs = append(errs, d.logFile.Close())
		}
		if d.tempDir {
			errs = append(errs, os.RemoveAll(d.dir))
		}
		d.closeErr = errors.Join(errs...)
	})
	return d.closeErr
}

// Run runs the demo until ctx ends; with once, only until the scripted day
// is over.
func Run(ctx context.Context, o Options, once bool) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	d, err := Start(ctx, o)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-d.DayDone():
		if !once && d.dayErr == nil {
			where := d.apiURL + "/api/v1/incidents"
			if d.console != "" {
				where = d.console
			}
			d.out.printf("\nThe store stays open and the hub keeps running: look around at %s. Ctrl-C stops everything.\n", where)
			<-ctx.Done()
		}
	}
	err = d.Close()
	msg := "\nstopped: the agent, the hub and the emulators are down"
	if d.tempDir {
		msg += "; " + d.dir + " is deleted"
	}
	fmt.Fprintln(o.Out, msg)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
