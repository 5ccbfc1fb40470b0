package agent

import (
	"runtime/debug"
	"testing"
)

func TestTuneRuntime(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	for _, tc := range []struct {
		name, env string
		start     int // the target the runtime has before, as GOGC made it
		want      int
	}{
		{"GOGC unset: the agent's own target", "", 100, GCPercent},
		{"GOGC set: the operator's wins", "50", 50, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.env)
			debug.SetGCPercent(tc.start)
			if got := TuneRuntime(); got != tc.want {
				t.Errorf("TuneRuntime() = %d, want %d", got, tc.want)
			}
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("runtime target %d, want %d", got, tc.want)
			}
		})
	}
}
