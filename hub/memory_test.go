package hub

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/storewatch/storewatch/config"
)

func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	noEnv := func(string) (string, bool) { return "", false }
	log := slog.New(slog.DiscardHandler)
	cases := []struct {
		name     string
		limit    config.ByteSize
		env      func(string) (string, bool)
		start    int64 // the runtime's limit before (as GOMEMLIMIT would have set it)
		want     int64
		wantFrom string
	}{
		{"from the file", 768 << 20, noEnv, math.MaxInt64, 768 << 20, "memory_limit"},
		{"none", 0, noEnv, math.MaxInt64, math.MaxInt64, "none"},
		{"GOMEMLIMIT wins", 768 << 20, func(k string) (string, bool) { return "1GiB", k == "GOMEMLIMIT" }, 1 << 30, 1 << 30, "GOMEMLIMIT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			debug.SetMemoryLimit(c.start)
			got, from := ApplyMemoryLimit(c.limit, c.env, log)
			if got != c.want || from != c.wantFrom {
				t.Errorf("ApplyMemoryLimit = %d (%s), want %d (%s)", got, from, c.want, c.wantFrom)
			}
			if now := debug.SetMemoryLimit(-1); now != c.want {
				t.Errorf("the runtime's limit is %d, want %d", now, c.want)
			}
		})
	}
}
