//go:build unix

package packaging_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/storewatch/storewatch/internal/testenv"
)

// hostState records what the package would change on the machine running the
// test if a maintainer script ignored DPKG_ROOT.
func hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{
		"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
		"/usr/bin/storeagent", "/etc/default/storeagent", "/etc/storewatch", "/var/lib/storewatch",
		"/lib/systemd/system/storeagent.service", "/usr/lib/systemd/system/storeagent.service",
		"/etc/systemd/system/storeagent.service",
		"/etc/systemd/system/multi-user.target.wants/storeagent.service",
		"/var/lib/dpkg/info/storeagent.list",
	} {
		st, err := os.Lstat(path)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "%s: absent\n", path)
		case st.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			fmt.Fprintf(&b, "%s: link to %s\n", path, target)
		case st.IsDir():
			entries, _ := os.ReadDir(path)
			fmt.Fprintf(&b, "%s: directory %v with %d entries\n", path, st.Mode(), len(entries))
		default:
			body, _ := os.ReadFile(path)
			fmt.Fprintf(&b, "%s: %v %x\n", path, st.Mode(), sha256.Sum256(body))
		}
	}
	return b.String()
}

// throwawayRoot is an empty system for dpkg --root: a dpkg database and the
// account files useradd --prefix edits, with the groups Debian has.
func throwawayRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"var/lib/dpkg/status":    "",
		"var/lib/dpkg/available": "",
		"etc/passwd":             "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":              "root:x:0:\ndialout:x:20:\nplugdev:x:46:\n",
		"etc/shadow":             "root:*:19000:0:99999:7:::\n",
		"etc/gshadow":            "root:*::\ndialout:*::\nplugdev:*::\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// account finds name in the root's passwd or group file.
func account(t *testing.T, root, file, name string) []string {
	t.Helper()
	for _, line := range strings.Split(string(readFile(t, filepath.Join(root, "etc", file))), "\n") {
		if f := strings.Split(line, ":"); f[0] == name {
			return f
		}
	}
	return nil
}

func owner(t *testing.T, path string) (uid, gid int, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid), st.Mode().Perm()
}

// needRoot: the maintainer scripts chown the state directory to the
// storewatch user.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if testenv.CI() {
			t.Fatal("installing into a throwaway root needs root")
		}
		t.Skip("installing into a throwaway root needs root")
	}
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

// The .deb installs, upgrades, is removed, reinstalled and purged in a
// throwaway root with the maintainer scripts running outside a chroot
// (honouring DPKG_ROOT), and the machine running the test is left as it was.
func TestDebInstallsIntoThrowawayRoot(t *testing.T) {
	dist := distDir(t)
	dpkg := testenv.LookPath(t, "dpkg")
	testenv.LookPath(t, "useradd")
	testenv.LookPath(t, "systemctl") // the scripts enable the unit with it
	needRoot(t)
	deb := one(t, dist, "storeagent_*_amd64.deb")
	bi := readBuildInfo(t, dist)
	before := hostState(t)
	root := throwawayRoot(t)
	at := func(path string) string { return filepath.Join(root, path) }

	dpkgIn := func(args ...string) {
		t.Helper()
		args = append([]string{"--root=" + root, "--force-not-root", "--force-script-chrootless",
			"--log=" + at("var/log/dpkg.log")}, args...)
		if out, err := exec.Command(dpkg, args...).CombinedOutput(); err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	storeagent := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(at("usr/bin/storeagent"), args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	enabled := at("etc/systemd/system/multi-user.target.wants/storeagent.service")
	config := at("etc/storewatch/agent.yaml")

	// Install.
	dpkgIn("--install", deb)
	out, err := storeagent(nil, "version")
	if err != nil {
		t.Fatalf("storeagent version: %v\n%s", err, out)
	}
	checkVersionLine(t, out, bi)
	if out, err := storeagent(nil, "config", "check", config); err != nil || !strings.HasSuffix(strings.TrimSpace(out), ": OK") {
		t.Errorf("the default configuration does not check: %v\n%s", err, out)
	}
	example := config + ".example"
	if out, err := storeagent(nil, "config", "check", example); err == nil || !strings.Contains(out, "STOREWATCH_BROKER_PASSWORD") {
		t.Errorf("the example checked without the broker password in the environment: %v\n%s", err, out)
	}
	if out, err := storeagent([]string{"STOREWATCH_BROKER_PASSWORD=from-the-environment"}, "config", "check", example); err != nil || !strings.HasSuffix(strings.TrimSpace(out), ": OK") {
		t.Errorf("the example does not check: %v\n%s", err, out)
	}

	// The service account, and what it owns.
	user := account(t, root, "passwd", "storewatch")
	group := account(t, root, "group", "storewatch")
	if len(user) != 7 || len(group) != 4 {
		t.Fatalf("no storewatch user and group in the root: %v %v", user, group)
	}
	uid, _ := strconv.Atoi(user[2])
	gid, _ := strconv.Atoi(group[2])
	if uid >= 1000 || user[3] != group[2] || user[5] != "/var/lib/storewatch" || user[6] != "/usr/sbin/nologin" {
		t.Errorf("storewatch user %v: want a system user with its group, home /var/lib/storewatch, no login", user)
	}
	for _, g := range []string{"dialout", "plugdev"} {
		if members := account(t, root, "group", g); !strings.Contains(","+members[3]+",", ",storewatch,") {
			t.Errorf("storewatch is not in %s: %v", g, members)
		}
	}
	for path, want := range map[string][3]int{
		"var/lib/storewatch":                {uid, gid, 0o750},
		"etc/storewatch":                    {0, gid, 0o750},
		"etc/storewatch/agent.yaml":         {0, gid, 0o640},
		"etc/storewatch/agent.yaml.example": {0, gid, 0o640},
		"etc/default/storeagent":            {0, 0, 0o600},
	} {
		if u, g, m := owner(t, at(path)); u != want[0] || g != want[1] || int(m) != want[2] {
			t.Errorf("/%s: %d:%d %o, want %d:%d %o", path, u, g, m, want[0], want[1], want[2])
		}
	}
	if !bytes.Equal(readFile(t, at("lib/systemd/system/storeagent.service")), readFile(t, "systemd/storeagent.service")) {
		t.Error("the installed unit differs from packaging/systemd/storeagent.service")
	}
	if target, err := os.Readlink(enabled); err != nil || target != "/lib/systemd/system/storeagent.service" {
		t.Errorf("the unit is not enabled in the root: %q %v", target, err)
	}

	// An upgrade (here: the same package again) keeps the admin's edits.
	edited := append(readFile(t, config), "# edited by the admin\n"...)
	if err := os.WriteFile(config, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	dpkgIn("--install", deb)
	if !bytes.Equal(readFile(t, config), edited) {
		t.Error("reinstalling replaced the edited configuration")
	}

	// Remove: the program and the unit go, the configuration and the outbox
	// stay, the service is disabled.
	dpkgIn("--remove", "storeagent")
	for _, gone := range []string{"usr/bin/storeagent", "lib/systemd/system/storeagent.service"} {
		if exists(at(gone)) {
			t.Errorf("/%s is still there after remove", gone)
		}
	}
	if exists(enabled) {
		t.Error("the unit is still enabled after remove")
	}
	if !bytes.Equal(readFile(t, config), edited) || !exists(at("var/lib/storewatch")) {
		t.Error("remove deleted the configuration or the state directory")
	}

	// Installing again enables the service again.
	dpkgIn("--install", deb)
	if !exists(enabled) {
		t.Error("reinstalling after remove left the unit disabled")
	}
	if !bytes.Equal(readFile(t, config), edited) {
		t.Error("reinstalling after remove replaced the configuration")
	}

	// Purge: configuration and outbox go; the user stays (files elsewhere
	// may belong to it).
	dpkgIn("--purge", "storeagent")
	for _, gone := range []string{"etc/storewatch", "var/lib/storewatch", "etc/default/storeagent", "usr/bin/storeagent"} {
		if exists(at(gone)) {
			t.Errorf("/%s is still there after purge", gone)
		}
	}
	if account(t, root, "passwd", "storewatch") == nil {
		t.Error("purge deleted the storewatch user")
	}

	if after := hostState(t); after != before {
		t.Errorf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// unpack writes a package's files under root.
func unpack(t *testing.T, root string, files map[string]entry) {
	t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents first
	for _, p := range paths {
		e, dst := files[p], filepath.Join(root, p)
		var err error
		if e.mode.IsDir() {
			err = os.MkdirAll(dst, e.mode.Perm())
		} else if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.WriteFile(dst, e.body, e.mode.Perm())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// rpm passes its scriptlets a count instead of deb's words: 1 on a first
// install, 2 on an upgrade, 0 on erase. rpm --root would chroot into a
// whole system to run them, so this runs them the way rpm calls them, on a
// throwaway root holding the rpm's files, pointed there with DPKG_ROOT.
func TestRPMScriptletsInThrowawayRoot(t *testing.T) {
	dist := distDir(t)
	rpm := testenv.LookPath(t, "rpm")
	rpm2archive := testenv.LookPath(t, "rpm2archive")
	testenv.LookPath(t, "useradd")
	testenv.LookPath(t, "systemctl")
	needRoot(t)
	file := one(t, dist, "storeagent-*.x86_64.rpm")
	before := hostState(t)
	root := throwawayRoot(t)
	unpack(t, root, rpmPayload(t, rpm2archive, file))

	scriptlet := func(tag, arg string) {
		t.Helper()
		body := run(t, rpm, "-qp", "--qf", "%{"+tag+"}", file)
		cmd := exec.Command("/bin/sh", "-c", string(body), tag, arg)
		cmd.Env = append(os.Environ(), "DPKG_ROOT="+root)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", tag, arg, err, out)
		}
	}
	const unit = "/usr/lib/systemd/system/storeagent.service"
	enabled := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/storeagent.service")
	config := filepath.Join(root, "etc/storewatch/agent.yaml")

	scriptlet("POSTIN", "1") // first install
	user := account(t, root, "passwd", "storewatch")
	if user == nil {
		t.Fatal("the rpm's post 1 created no storewatch user")
	}
	if uid, _, _ := owner(t, filepath.Join(root, "var/lib/storewatch")); strconv.Itoa(uid) != user[2] {
		t.Errorf("/var/lib/storewatch belongs to %d, not storewatch (%s)", uid, user[2])
	}
	if target, err := os.Readlink(enabled); err != nil || target != unit {
		t.Errorf("post 1 did not enable the unit: %q %v", target, err)
	}

	// The admin disables the service; an upgrade keeps it that way.
	os.Remove(enabled)
	scriptlet("POSTIN", "2")
	if exists(enabled) {
		t.Error("post 2 (upgrade) enabled a service the admin had disabled")
	}
	if err := os.MkdirAll(filepath.Dir(enabled), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(unit, enabled); err != nil {
		t.Fatal(err)
	}
	scriptlet("PREUN", "1") // the old version's %preun during an upgrade
	if !exists(enabled) {
		t.Error("preun 1 (upgrade) disabled the service")
	}

	scriptlet("PREUN", "0") // erase
	scriptlet("POSTUN", "0")
	if exists(enabled) {
		t.Error("preun 0 (erase) left the service enabled")
	}
	if !exists(config) || !exists(filepath.Join(root, "var/lib/storewatch")) {
		t.Error("erasing deleted the configuration or the outbox")
	}

	if after := hostState(t); after != before {
		t.Errorf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
