package bench

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// tally is a slog.Handler that counts warnings and errors by message (and
// the first words of their error), so thousands of simulated agents can log
// without flooding the run's output.
type tally struct {
	mu    *sync.Mutex
	count map[string]int
	attrs []slog.Attr
}

func newTally() *tally { return &tally{mu: &sync.Mutex{}, count: map[string]int{}} }

func (t *tally) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (t *tally) Handle(_ context.Context, r slog.Record) error {
	key := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			e := a.Value.String()
			if i := strings.IndexAny(e, "0123456789"); i > 0 { // addresses and counts differ per agent
				e = e[:i]
			}
			key += ": " + strings.TrimSpace(e)
			return false
		}
		return true
	})
	t.mu.Lock()
	t.count[key]++
	t.mu.Unlock()
	return nil
}

func (t *tally) WithAttrs(as []slog.Attr) slog.Handler {
	return &tally{mu: t.mu, count: t.count, attrs: append(t.attrs[:len(t.attrs):len(t.attrs)], as...)}
}

func (t *tally) WithGroup(string) slog.Handler { return t }

// Lines returns "N × message" lines, most frequent first.
func (t *tally) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k, n := range t.count {
		out = append(out, fmt.Sprintf("%d × %s", n, k))
	}
	sort.Slice(out, func(i, j int) bool {
		var a, b int
		fmt.Sscan(out[i], &a)
		fmt.Sscan(out[j], &b)
		return a > b
	})
	return out
}
