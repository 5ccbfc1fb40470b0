package scaletest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
)

// Run replays every case in the transcript files matching glob against the
// named driver, over a real PTY, and checks the last probe's reading. Each
// case must use all of its own exchanges: the transcript is the record of
// what the driver sends.
func Run(t *testing.T, driver, glob string) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts match %s (%v)", glob, err)
	}
	for _, f := range files {
		cases, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(filepath.Base(f)+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				replay := NewReplay(c)
				r, err := probeOverPTY(t, driver, c, replay)
				Check(t, c, r, err)
				if used := len(replay.Received()); used < len(c.Exchanges) {
					t.Errorf("%s: the driver sent %d request(s) the case answers, want all %d: %q", c, used, len(c.Exchanges), replay.Received())
				}
				if want, ok := c.Get("requests"); ok {
					if got := Requests(replay.Received()); got != want {
						t.Errorf("%s: the driver sent %q, want %q", c, got, want)
					}
				}
			})
		}
	}
}

// Requests renders requests as a transcript's "requests:" line: each
// trimmed of spaces and its line ending, separated by one space.
func Requests(reqs [][]byte) string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = strings.TrimSpace(string(r))
	}
	return strings.Join(out, " ")
}

func probeOverPTY(t *testing.T, driver string, c Case, dev devsim.Device) (drivers.Reading, error) {
	t.Helper()
	p, err := devsim.ServePTY(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	suffix, _ := c.Get("address")
	addr, err := transport.Parse("serial://" + p.Path + suffix)
	if err != nil {
		t.Fatal(err)
	}
	timeout := 5 * time.Second
	if want, _ := c.Get("error"); want == "timeout" {
		timeout = 300 * time.Millisecond
	}
	prober, err := drivers.New(driver, drivers.Spec{
		ID: strings.ReplaceAll(c.Name, " ", "_"), Kind: "scale", Address: addr,
		Timeout: timeout, Options: drivers.NewOptions(Options(c)),
	})
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	var r drivers.Reading
	for range Probes(c) {
		r, err = prober.Probe(context.Background())
	}
	return r, err
}
