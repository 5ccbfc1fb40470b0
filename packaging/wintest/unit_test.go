//go:build wine

package wintest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/wine"
)

// windowsUnitTests are Go tests whose subject differs on Windows: built
// for windows/amd64 and run under Wine, in their package's directory (for
// testdata), they must all pass, and run.
var windowsUnitTests = []struct {
	pkg string // relative to the repository root
	run string // -test.run pattern: each test it names must run and pass
}{
	// Windows renames no open file; the log and audit files rotate anyway.
	{"agent", "^(TestRotatingFileKeepsTheNewestLines|TestRotatingFileAppendsAndNeverSplitsALine|TestNewLoggerWithFile|TestAuditLogRotates)$"},
	// Serial ports from SetupAPI and SERIALCOMM; USB devices from SetupAPI
	// (Wine has none to show: their parsing is tested on recorded ids).
	{"drivers/transport", "^(TestListSerialPortsOnThisMachine|TestWithPlainPorts|TestMatchSerialPort)$"},
	{"drivers/usbinv", "^(TestDiscoverThisMachine|TestWindowsIDs)$"},
	// The enrolled agent's password file is written (and replaced) through
	// its ACL; Wine keeps no file DACL, so TestSecretACL, which reads the
	// ACL back, needs a real Windows (README.md's list).
	{"agent/enrol", "^(TestWriteSecretIsForTheServiceOnly)$"},
}

func TestWindowsUnitTests(t *testing.T) {
	p := wine.Use(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range windowsUnitTests {
		t.Run(strings.ReplaceAll(c.pkg, "/", "_"), func(t *testing.T) {
			exe := filepath.Join(dir, strings.ReplaceAll(c.pkg, "/", "_")+".test.exe")
			build := exec.Command("go", "test", "-c", "-o", exe, "./"+c.pkg)
			build.Dir = root
			build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go test -c %s for windows: %v\n%s", c.pkg, err, out)
			}
			r := p.RunIn(t, filepath.Join(root, c.pkg), nil, exe, "-test.run", c.run, "-test.v", "-test.count=1")
			passed := wine.PassedUnderWine(r.Stdout)
			// Every test the pattern names ran and passed (none skipped).
			for _, name := range regexp.MustCompile(`\w+`).FindAllString(strings.Trim(c.run, "^$()"), -1) {
				if !passed[name] {
					t.Errorf("%s did not pass under Wine (exit %d):\n%s%s", name, r.Code, r.Stdout, r.Stderr)
				}
			}
		})
	}
}
