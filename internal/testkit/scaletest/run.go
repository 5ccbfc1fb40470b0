package scaletest

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
)

// keys are the "!" lines a scale transcript may have: transcript.Check's
// expectations and the settings of the probe.
var keys = map[string]bool{
	"error": true, "faults": true, "identity": true, "measured": true, "not_measured": true,
	"option":  true, // driver options: "unit=g unstable_probes=1"
	"probes":  true, // how many probes to run; the last one is checked
	"address": true, // appended to the PTY's serial address: "?databits=7&parity=E"
	// "requests I0 I1 SI": every request the driver sent over all probes,
	// in order, each trimmed of its line ending
	"requests": true,
}

// Run replays every case in the transcript files matching glob against the
// named driver, as a transcript.Replay on a real PTY, and checks the last
// probe's reading (transcript.Check). Each case must use all of its own
// exchanges: the transcript is the record of what the driver sends.
func Run(t *testing.T, driver, glob string) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts match %s (%v)", glob, err)
	}
	for _, f := range files {
		for _, c := range transcript.Load(t, f) {
			t.Run(filepath.Base(f)+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				for k := range c.Expect {
					if !keys[k] {
						t.Fatalf("%s: unknown \"! %s\"", c, k)
					}
				}
				replay := transcript.NewReplay(c)
				r, err := probeOverPTY(t, driver, c, replay)
				transcript.Check(t, c, r, err)
				if used := receivedAtLeast(replay, len(c.Steps)); used < len(c.Steps) {
					t.Errorf("%s: the driver sent %d request(s) the case answers, want all %d: %q", c, used, len(c.Steps), replay.Received())
				}
				if want, ok := c.Expect["requests"]; ok {
					if got := Requests(replay.Received()); got != want {
						t.Errorf("%s: the driver sent %q, want %q", c, got, want)
					}
				}
			})
		}
	}
}

func probeOverPTY(t *testing.T, driver string, c transcript.Case, replay *transcript.Replay) (drivers.Reading, error) {
	t.Helper()
	timeout := 5 * time.Second
	if c.Expect["error"] == "timeout" {
		timeout = 300 * time.Millisecond
	}
	prober := New(t, driver, "serial://"+simtest.PTY(t, replay)+c.Expect["address"], transcript.Fields(c.Expect["option"]), timeout, nil)
	var (
		r   drivers.Reading
		err error
	)
	for range probes(t, c) {
		r, err = prober.Probe(context.Background())
	}
	return r, err
}

// receivedAtLeast waits until the emulator has read n requests or a few
// seconds have passed, and returns how many it read. A probe that gives up
// after a short timeout may return before the emulator's goroutine, on a
// busy machine, has read what the driver wrote: the bytes are in the PTY and
// arrive, so waiting for them makes the count a fact about the driver, not
// about the scheduler.
func receivedAtLeast(replay *transcript.Replay, n int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := len(replay.Received())
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// probes returns the "! probes" setting, 1 by default.
func probes(t *testing.T, c transcript.Case) int {
	v, ok := c.Expect["probes"]
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s: ! probes %s: want a number from 1", c, v)
	}
	return n
}

// Requests renders requests as a transcript's "! requests" line: each
// trimmed of spaces and its line ending, separated by one space.
func Requests(reqs [][]byte) string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = strings.TrimSpace(string(r))
	}
	return strings.Join(out, " ")
}
