package agent

import (
	"runtime"
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

func TestTuneRuntimeProcs(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	oldGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(oldGC) })
	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(4)
	TuneRuntime()
	if got := runtime.GOMAXPROCS(0); got != MaxProcs {
		t.Errorf("GOMAXPROCS unset: %d, want the agent's %d", got, MaxProcs)
	}
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3) // as the runtime read it at start
	TuneRuntime()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS=3: %d, want the operator's 3", got)
	}
}
