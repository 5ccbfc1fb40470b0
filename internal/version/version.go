package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped at build time.
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if Commit == "" {
				Commit = s.Value
			}
		case "vcs.time":
			if Date == "" {
				Date = s.Value
			}
		}
	}
}

// String returns the version, or "dev" for an unstamped build.
func String() string {
	if Version == "" {
		return "dev"
	}
	return Version
}

// Long describes the build in one line.
func Long(program string) string {
	commit := Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	}
	date := Date
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("%s %s (commit %s, built %s, %s %s/%s)", program, String(), commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
