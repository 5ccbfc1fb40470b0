package incident

import "github.com/storewatch/storewatch/wire"

// SeqWindow tracks an agent's message sequence numbers. Numbers grow by one
// per message and survive agent restarts, so (agent, seq) identifies a
// message: anything at or below the contiguous mark, or already seen above it,
// is a duplicate. Numbers skipped over are gaps; a late arrival fills one.
type SeqWindow struct {
	// Mark is the highest number below which every message has been seen or
	// given up on.
	Mark uint64 `json:"mark"`
	// High is the highest number seen.
	High uint64 `json:"high"`
	// Missing lists the numbers above Mark not yet seen, as ranges.
	Missing []SeqRange `json:"missing,omitempty"`
	// Gaps counts numbers that were skipped over (missing when a later one
	// came); Late counts those that arrived after all; Duplicates counts
	// repeated deliveries; Lost counts missing numbers given up on.
	Gaps       uint64 `json:"gaps"`
	Late       uint64 `json:"late"`
	Duplicates uint64 `json:"duplicates"`
	Lost       uint64 `json:"lost"`
	// Gone counts missing numbers the agent said it no longer had when the
	// hub asked for them again (hub/resend): telemetry its full outbox
	// collapsed or dropped, or events older than it keeps once sent.
	Gone uint64 `json:"gone,omitempty"`
	// Floor is the highest Next of the agent's births (wire.Status.Next):
	// no number from it on is history.
	Floor uint64 `json:"floor,omitempty"`
}

// SeqRange is [From, To], inclusive.
type SeqRange struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// History marks numbers just below the first message the hub saw from
	// the agent: they are not gaps (the agent may have sent them before the
	// hub knew it), but they may still come, because a hub handles an
	// agent's messages concurrently and the first one it finishes need not
	// be the lowest. They are not counted as gaps, late or lost.
	History bool `json:"history,omitempty"`
}

// historySlack is how many numbers below the first one seen are accepted
// once each, and how far the agent must have gone past them before they
// are forgotten (so that an agent's record does not carry them for good).
// What can arrive out of order is what an agent has in flight at once: 100
// by default (uplink.Options.InFlight).
const historySlack = 1024

// maxMissing bounds the ranges kept; the oldest are given up on (Lost).
const maxMissing = 256

// Observe records seq and reports whether it is new.
func (w *SeqWindow) Observe(seq uint64) bool {
	switch {
	case seq == 0:
		return true // messages without a sequence (status, inventory) are not deduplicated
	case w.High == 0 && w.Mark == 0:
		// The first message the hub sees from this agent: what came before
		// is not a gap, but the numbers just below may still arrive.
		w.High = seq
		w.Mark = seq - 1 - min(seq-1, historySlack)
		if w.Mark < seq-1 {
			w.Missing = []SeqRange{{From: w.Mark + 1, To: seq - 1, History: true}}
			w.unhistory()
		}
		return true
	case seq <= w.Mark:
		w.Duplicates++
		return false
	case seq > w.High:
		if seq > w.High+1 {
			w.Missing = append(w.Missing, SeqRange{From: w.High + 1, To: seq - 1})
			w.Gaps += seq - 1 - w.High
		}
		w.High = seq
		w.trim()
		return true
	}
	// Mark < seq <= High: new only if it fills a gap.
	for i, r := range w.Missing {
		if seq < r.From || seq > r.To {
			continue
		}
		if !r.History {
			w.Late++
		}
		switch {
		case r.From == r.To:
			w.Missing = append(w.Missing[:i], w.Missing[i+1:]...)
		case seq == r.From:
			w.Missing[i].From++
		case seq == r.To:
			w.Missing[i].To--
		default:
			w.Missing = append(w.Missing[:i+1], w.Missing[i:]...)
			w.Missing[i] = SeqRange{r.From, seq - 1, r.History}
			w.Missing[i+1] = SeqRange{seq + 1, r.To, r.History}
		}
		w.trim()
		return true
	}
	w.Duplicates++
	return false
}

// Born records an agent's birth saying that next is the lowest number it
// had not delivered when it connected (wire.Status.Next): numbers from next
// on are not history (its first message may be the one lost), and a number
// below next the hub never saw was acknowledged by the broker and lost, so
// it is missing even though nothing after it came (yet).
func (w *SeqWindow) Born(next uint64) {
	if next == 0 {
		return
	}
	w.Floor = max(w.Floor, next)
	w.unhistory()
	if w.High > 0 && next > w.High+1 {
		w.Missing = append(w.Missing, SeqRange{From: w.High + 1, To: next - 1})
		w.Gaps += next - 1 - w.High
		w.High = next - 1
	}
	w.trim()
}

// unhistory turns the history numbers at or above Floor into missing ones.
func (w *SeqWindow) unhistory() {
	if w.Floor == 0 {
		return
	}
	var out []SeqRange
	for _, r := range w.Missing {
		if r.History && r.To >= w.Floor {
			if r.From < w.Floor {
				out = append(out, SeqRange{From: r.From, To: w.Floor - 1, History: true})
				r.From = w.Floor
			}
			r.History = false
			w.Gaps += r.To - r.From + 1
		}
		out = append(out, r)
	}
	w.Missing = out
}

// GiveUp stops waiting for the missing numbers in [from, to] (the agent
// said it no longer has them), counting them as Gone, and returns how many
// that was.
func (w *SeqWindow) GiveUp(from, to uint64) uint64 {
	var out []SeqRange
	var n uint64
	for _, r := range w.Missing {
		if r.History || r.To < from || r.From > to {
			out = append(out, r)
			continue
		}
		if r.From < from {
			out = append(out, SeqRange{From: r.From, To: from - 1})
		}
		if r.To > to {
			out = append(out, SeqRange{From: to + 1, To: r.To})
		}
		n += min(r.To, to) - max(r.From, from) + 1
	}
	w.Missing = out
	w.Gone += n
	w.trim()
	return n
}

// Outstanding is how many skipped numbers are still missing.
func (w *SeqWindow) Outstanding() uint64 {
	var n uint64
	for _, r := range w.Missing {
		if !r.History {
			n += r.To - r.From + 1
		}
	}
	return n
}

func (w *SeqWindow) trim() {
	// History ranges are always the lowest; forget them once the agent is
	// a whole slack past them.
	for len(w.Missing) > 0 && w.Missing[0].History && w.High-w.Missing[0].To > historySlack {
		w.Missing = w.Missing[1:]
	}
	for len(w.Missing) > maxMissing {
		r := w.Missing[0]
		if !r.History {
			w.Lost += r.To - r.From + 1
		}
		w.Missing = w.Missing[1:]
	}
	if len(w.Missing) == 0 {
		w.Mark = w.High
	} else {
		w.Mark = w.Missing[0].From - 1
	}
}

// AgentGaps is an agent's missing sequence numbers (not its history).
type AgentGaps struct {
	Agent   wire.AgentID
	Online  bool
	Missing []SeqRange
}

// Gaps lists the agents with missing numbers, for the hub's resend
// (hub/resend). It walks every agent: call it every few seconds, not per
// message.
func (e *Engine) Gaps() []AgentGaps {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []AgentGaps
	for _, ag := range e.agents {
		w := &ag.rec.Seq
		if w.Outstanding() == 0 {
			continue
		}
		g := AgentGaps{Agent: ag.rec.ID(), Online: ag.rec.Online}
		for _, r := range w.Missing {
			if !r.History {
				g.Missing = append(g.Missing, r)
			}
		}
		out = append(out, g)
	}
	return out
}

// GiveUp stops waiting for an agent's missing numbers in spans: the agent
// said it no longer has them.
func (e *Engine) GiveUp(id wire.AgentID, spans []wire.SeqSpan) Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	ag, ok := e.agents[id.String()]
	if !ok {
		return e.take()
	}
	var n uint64
	for _, s := range spans {
		n += ag.rec.Seq.GiveUp(s.From, s.To)
	}
	if n > 0 {
		e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
	}
	return e.take()
}
