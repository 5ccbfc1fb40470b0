package svc

import (
	"fmt"
	"strings"
	"time"
)

// Recovery is what the Windows service manager is asked to do about a
// failed service, and when to start it. systemd's unit says the same with
// Restart=on-failure.
type Recovery struct {
	// Restarts are the delays before the first, second and later restarts
	// after a failure.
	Restarts []time.Duration
	// ResetAfter forgets earlier failures after this long without one.
	ResetAfter time.Duration
	// NonCrashFailures also restarts after the service stopped by itself
	// with an error code, not only after it crashed.
	NonCrashFailures bool
	// DelayedStart starts the service after the boot rush (automatic,
	// delayed start).
	DelayedStart bool
}

// WindowsRecovery is what `install` sets on Windows and what the MSI sets
// through sc.exe (packaging/windows/storeagent.wxs, checked by a test in
// packaging/): restart 10 s after each failure, forget failures after a day.
var WindowsRecovery = Recovery{
	Restarts:         []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second},
	ResetAfter:       24 * time.Hour,
	NonCrashFailures: true,
	DelayedStart:     true,
}

// ScCommands are the sc.exe commands that make the same settings for the
// service name: what an administrator, or an installer without access to
// the service manager's API, runs.
func (r Recovery) ScCommands(name string) []string {
	actions := make([]string, len(r.Restarts))
	for i, d := range r.Restarts {
		actions[i] = fmt.Sprintf("restart/%d", d.Milliseconds())
	}
	cmds := []string{fmt.Sprintf("failure %s reset= %d actions= %s", name, int(r.ResetAfter.Seconds()), strings.Join(actions, "/"))}
	if r.NonCrashFailures {
		cmds = append(cmds, fmt.Sprintf("failureflag %s 1", name))
	}
	if r.DelayedStart {
		cmds = append(cmds, fmt.Sprintf("config %s start= delayed-auto", name))
	}
	return cmds
}
