package resend

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Source lists the agents with missing numbers (the engine).
type Source interface {
	Gaps() []incident.AgentGaps
}

// Asker asks an agent to publish messages again and waits for its answer
// (the hub's query service).
type Asker interface {
	Resend(ctx context.Context, agent wire.AgentID, spans []wire.SeqSpan) (wire.ResendResult, error)
}

// Recorder stops waiting for numbers the agent no longer has, through the
// pipeline that owns the engine, so that it is committed like any change.
type Recorder interface {
	GiveUp(ctx context.Context, agent wire.AgentID, spans []wire.SeqSpan) error
}

// Options configures a Tracker.
type Options struct {
	Source   Source
	Asker    Asker
	Recorder Recorder
	Clock    clock.Clock
	Log      *slog.Logger
	Metrics  *Metrics // shared by a replica's partitions; nil: not exported
	// Every is how often the gaps are looked at (default 5s). After is how
	// long a gap stays open before the agent is asked (default 15s: a
	// broker's own redelivery comes first). Retry is the wait before asking
	// again, doubling up to MaxRetry (defaults 30s and 10m).
	Every, After, Retry, MaxRetry time.Duration
	// Workers bounds the requests waiting for answers at once (default 4).
	Workers int
}

// Tracker asks agents for what the hub is missing.
type Tracker struct {
	o     Options
	clk   clock.Clock
	log   *slog.Logger
	sem   chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	state map[wire.AgentID]*gap // agents with missing numbers
}

// gap is what the tracker knows of one agent's missing numbers.
type gap struct {
	next  time.Time // ask no earlier
	tries int
	busy  bool // a request is out
}

// New returns a tracker; Run starts it.
func New(o Options) *Tracker {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Every, 5*time.Second)
	def(&o.After, 15*time.Second)
	def(&o.Retry, 30*time.Second)
	def(&o.MaxRetry, 10*time.Minute)
	if o.Workers <= 0 {
		o.Workers = 4
	}
	return &Tracker{o: o, clk: o.Clock, log: o.Log, sem: make(chan struct{}, o.Workers), state: map[wire.AgentID]*gap{}}
}

// Run looks at the gaps every Every until ctx ends, and waits for the
// requests it started.
func (t *Tracker) Run(ctx context.Context) {
	defer t.wg.Wait()
	for {
		timer := t.clk.NewTimer(t.o.Every)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		}
		t.Scan(ctx)
	}
}

// Scan is one look at the gaps: it asks the agents whose gaps are due,
// without waiting for their answers.
func (t *Tracker) Scan(ctx context.Context) {
	now := t.clk.Now()
	gaps := t.o.Source.Gaps()
	t.mu.Lock()
	defer t.mu.Unlock()
	open := map[wire.AgentID]bool{}
	for _, g := range gaps {
		open[g.Agent] = true
		st := t.state[g.Agent]
		if st == nil {
			st = &gap{next: now.Add(t.o.After)}
			t.state[g.Agent] = st
		}
		// An agent away cannot answer; it republishes what waits in its
		// outbox when it is back, and is asked after that.
		if !g.Online || st.busy || now.Before(st.next) {
			continue
		}
		select {
		case t.sem <- struct{}{}:
		default:
			continue // every worker waits for an answer: next round
		}
		st.busy, st.tries = true, st.tries+1
		st.next = now.Add(min(t.o.Retry<<min(st.tries-1, 16), t.o.MaxRetry))
		spans := Bounded(g.Missing)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer func() { <-t.sem }()
			t.ask(ctx, g.Agent, spans)
			t.mu.Lock()
			st.busy = false
			t.mu.Unlock()
		}()
	}
	for id := range t.state {
		if !open[id] {
			delete(t.state, id)
		}
	}
}

func (t *Tracker) ask(ctx context.Context, id wire.AgentID, spans []wire.SeqSpan) {
	n := 0
	for _, s := range spans {
		n += int(s.Len())
	}
	res, err := t.o.Asker.Resend(ctx, id, spans)
	t.o.Metrics.request(err)
	if err != nil {
		t.log.Warn("asked an agent to publish missing messages again: no answer", "agent", id, "missing", n, "seqs", wire.FormatSpans(spans), "err", err)
	} else {
		t.log.Info("asked an agent to publish missing messages again", "agent", id, "missing", n, "resent", res.Resent, "pending", res.Pending, "gone", res.Gone)
		t.o.Metrics.resent(res.Resent)
	}
	if res.Gone == "" {
		return
	}
	gone, perr := wire.ParseSpans(res.Gone)
	if perr != nil {
		t.log.Warn("an agent's resend answer names gone numbers that do not parse", "agent", id, "gone", res.Gone, "err", perr)
		return
	}
	gone = within(gone, spans)
	if err := t.o.Recorder.GiveUp(ctx, id, gone); err != nil {
		t.log.Warn("could not record the numbers an agent no longer has", "agent", id, "err", err)
		return
	}
	for _, s := range gone {
		t.o.Metrics.gone(s.Len())
	}
}

// Bounded turns missing ranges into what one request may carry (the
// oldest first, wire.MaxResendSpans ranges and wire.MaxResendNumbers
// numbers at most; the rest is asked for next time).
func Bounded(missing []incident.SeqRange) []wire.SeqSpan {
	var out []wire.SeqSpan
	var total uint64
	for _, r := range missing {
		if len(out) == wire.MaxResendSpans || total == wire.MaxResendNumbers {
			break
		}
		s := wire.SeqSpan{From: r.From, To: r.To}
		if room := uint64(wire.MaxResendNumbers) - total; s.Len() > room {
			s.To = s.From + room - 1
		}
		out = append(out, s)
		total += s.Len()
	}
	return out
}

// within keeps the parts of gone that were asked for: an agent cannot give
// up numbers the hub did not ask about.
func within(gone, asked []wire.SeqSpan) []wire.SeqSpan {
	var out []wire.SeqSpan
	for _, g := range gone {
		for _, a := range asked {
			if from, to := max(g.From, a.From), min(g.To, a.To); from <= to {
				out = append(out, wire.SeqSpan{From: from, To: to})
			}
		}
	}
	return out
}

// Metrics are the resend counters on /metrics.
type Metrics struct {
	Requests *prometheus.CounterVec // by outcome: answered, failed
	Resent   prometheus.Counter
	Gone     prometheus.Counter
}

// NewMetrics registers the counters with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "storehub", Name: "resend_requests_total",
			Help: "Requests to agents to publish missing messages again, by outcome (answered, failed)."}, []string{"outcome"}),
		Resent: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "storehub", Name: "resent_messages_total",
			Help: "Messages agents published again at the hub's request."}),
		Gone: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "storehub", Name: "sequence_gone_total",
			Help: "Missing sequence numbers given up on because their agent no longer had them."}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Resent, m.Gone)
	}
	return m
}

func (m *Metrics) request(err error) {
	if m == nil {
		return
	}
	outcome := "answered"
	if err != nil {
		outcome = "failed"
	}
	m.Requests.WithLabelValues(outcome).Inc()
}

func (m *Metrics) resent(n int) {
	if m != nil {
		m.Resent.Add(float64(n))
	}
}

func (m *Metrics) gone(n uint64) {
	if m != nil {
		m.Gone.Add(float64(n))
	}
}
