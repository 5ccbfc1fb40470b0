//go:build unix

package wine

import (
	"regexp"
	"strings"
)

// wineOnly is the one failure Wine adds to a Go test that passes on
// Windows: Go 1.26's os.RemoveAll deletes through
// FileDispositionInformationEx, which Wine 8.0 answers with "Invalid
// function", so every t.TempDir fails to clean up under it (and nowhere on
// Windows 10 or later).
var wineOnly = regexp.MustCompile(`^\s+testing\.go:\d+: TempDir RemoveAll cleanup: unlinkat .*: Invalid function\.$`)

// PassedUnderWine reads the output of a Windows Go test binary run with
// -test.v under Wine and returns the tests that ran, each true when it
// passed. A test whose only failure is Wine's (wineOnly) counts as passed.
func PassedUnderWine(out string) map[string]bool {
	passed := map[string]bool{}
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "=== RUN"):
			lines = nil
		case strings.HasPrefix(line, "--- PASS: ") && len(f) > 2:
			passed[f[2]] = true
		case strings.HasPrefix(line, "--- FAIL: ") && len(f) > 2:
			ok := len(lines) > 0
			for _, l := range lines {
				ok = ok && wineOnly.MatchString(l)
			}
			passed[f[2]] = ok
		default:
			lines = append(lines, line)
		}
	}
	return passed
}
