//go:build unix

package packaging_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// hostState records what the package would change on the machine running the
// test if a maintainer script ignored DPKG_ROOT.
func hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	paths := []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/storewatch"}
	for _, p := range linuxPackages {
		unit := p.name + ".service"
		paths = append(paths, "/usr/bin/"+p.name, "/etc/default/"+p.name, p.stateDir,
			"/lib/systemd/system/"+unit, "/usr/lib/systemd/system/"+unit, "/etc/systemd/system/"+unit,
			"/etc/systemd/system/multi-user.target.wants/"+unit, "/var/lib/dpkg/info/"+p.name+".list")
	}
	for _, path := range paths {
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
	for _, line := range strings.Split(string(testenv.ReadFile(t, filepath.Join(root, "etc", file))), "\n") {
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

// dpkgIn runs dpkg on root, with the maintainer scripts outside a chroot
// (honouring DPKG_ROOT).
func dpkgIn(t *testing.T, dpkg, root string, args ...string) {
	t.Helper()
	args = append([]string{"--root=" + root, "--force-not-root", "--force-script-chrootless",
		"--log=" + filepath.Join(root, "var/log/dpkg.log")}, args...)
	if out, err := exec.Command(dpkg, args...).CombinedOutput(); err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Each .deb installs, upgrades, is removed, reinstalled and purged in a
// throwaway root, and the machine running the test is left as it was.
func TestDebInstallsIntoThrowawayRoot(t *testing.T) {
	dist := distDir(t)
	dpkg := testenv.LookPath(t, "dpkg")
	testenv.LookPath(t, "useradd")
	testenv.LookPath(t, "systemctl") // the scripts enable the unit with it
	needRoot(t)
	bi := readBuildInfo(t, dist)
	before := hostState(t)
	for _, p := range linuxPackages {
		t.Run(p.name, func(t *testing.T) { debLifecycle(t, dpkg, one(t, dist, p.name+"_*_amd64.deb"), bi, p) })
	}
	if after := hostState(t); after != before {
		t.Errorf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func debLifecycle(t *testing.T, dpkg, deb string, bi buildInfo, p linuxPackage) {
	root := throwawayRoot(t)
	at := func(path string) string { return filepath.Join(root, path) }
	program := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(at("usr/bin/"+p.name), args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	unit := p.name + ".service"
	enabled := at("etc/systemd/system/multi-user.target.wants/" + unit)
	config := at("etc/storewatch/" + p.config)

	// Install.
	dpkgIn(t, dpkg, root, "--install", deb)
	out, err := program(nil, "version")
	if err != nil {
		t.Fatalf("%s version: %v\n%s", p.name, err, out)
	}
	checkVersionLine(t, p.name, out, bi)
	if out, err := program(nil, "config", "check", config); err != nil || !strings.HasSuffix(strings.TrimSpace(out), ": OK") {
		t.Errorf("the default configuration does not check: %v\n%s", err, out)
	}
	example := config + ".example"
	// An example that takes secrets from the environment names the one
	// missing; the others check as they are.
	for _, env := range p.exampleEnv {
		missing, _, _ := strings.Cut(env, "=")
		var rest []string
		for _, e := range p.exampleEnv {
			if e != env {
				rest = append(rest, e)
			}
		}
		if out, err := program(rest, "config", "check", example); err == nil || !strings.Contains(out, missing) {
			t.Errorf("the example checked without %s in the environment: %v\n%s", missing, err, out)
		}
	}
	if out, err := program(p.exampleEnv, "config", "check", example); err != nil || !strings.HasSuffix(strings.TrimSpace(out), ": OK") {
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
	if uid >= 1000 || user[3] != group[2] || user[5] != p.stateDir || user[6] != "/usr/sbin/nologin" {
		t.Errorf("storewatch user %v: want a system user with its group, home %s, no login", user, p.stateDir)
	}
	for _, g := range []string{"dialout", "plugdev"} {
		member := strings.Contains(","+account(t, root, "group", g)[3]+",", ",storewatch,")
		if want := slices.Contains(p.groups, g); member != want {
			t.Errorf("storewatch in %s: %v, want %v", g, member, want)
		}
	}
	for path, want := range map[string][3]int{
		strings.TrimPrefix(p.stateDir, "/"):       {uid, gid, 0o750},
		"etc/storewatch":                          {0, gid, 0o750},
		"etc/storewatch/" + p.config:              {0, gid, 0o640},
		"etc/storewatch/" + p.config + ".example": {0, gid, 0o640},
		"etc/default/" + p.name:                   {0, 0, 0o600},
	} {
		if u, g, m := owner(t, at(path)); u != want[0] || g != want[1] || int(m) != want[2] {
			t.Errorf("/%s: %d:%d %o, want %d:%d %o", path, u, g, m, want[0], want[1], want[2])
		}
	}
	if !bytes.Equal(testenv.ReadFile(t, at("lib/systemd/system/"+unit)), testenv.ReadFile(t, "systemd/"+unit)) {
		t.Errorf("the installed unit differs from packaging/systemd/%s", unit)
	}
	if target, err := os.Readlink(enabled); err != nil || target != "/lib/systemd/system/"+unit {
		t.Errorf("the unit is not enabled in the root: %q %v", target, err)
	}
	if p.runs != nil {
		p.runs(t, root, uid, gid)
	}

	// An upgrade (here: the same package again) keeps the admin's edits.
	edited := append(testenv.ReadFile(t, config), "# edited by the admin\n"...)
	if err := os.WriteFile(config, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	dpkgIn(t, dpkg, root, "--install", deb)
	if !bytes.Equal(testenv.ReadFile(t, config), edited) {
		t.Error("reinstalling replaced the edited configuration")
	}

	// Remove: the program and the unit go, the configuration and the state
	// directory stay, the service is disabled.
	dpkgIn(t, dpkg, root, "--remove", p.name)
	for _, gone := range []string{"usr/bin/" + p.name, "lib/systemd/system/" + unit} {
		if exists(at(gone)) {
			t.Errorf("/%s is still there after remove", gone)
		}
	}
	if exists(enabled) {
		t.Error("the unit is still enabled after remove")
	}
	if !bytes.Equal(testenv.ReadFile(t, config), edited) || !exists(at(p.stateDir)) {
		t.Error("remove deleted the configuration or the state directory")
	}

	// Installing again enables the service again.
	dpkgIn(t, dpkg, root, "--install", deb)
	if !exists(enabled) {
		t.Error("reinstalling after remove left the unit disabled")
	}
	if !bytes.Equal(testenv.ReadFile(t, config), edited) {
		t.Error("reinstalling after remove replaced the configuration")
	}

	// Purge: configuration and state go; the user stays (files elsewhere
	// may belong to it).
	dpkgIn(t, dpkg, root, "--purge", p.name)
	for _, gone := range []string{"etc/storewatch", p.stateDir, "etc/default/" + p.name, "usr/bin/" + p.name} {
		if exists(at(gone)) {
			t.Errorf("/%s is still there after purge", gone)
		}
	}
	if account(t, root, "passwd", "storewatch") == nil {
		t.Error("purge deleted the storewatch user")
	}
}

// storeagent and storehub on one machine share the storewatch user and
// /etc/storewatch: removing one leaves the other as it was.
func TestDebsShareAMachine(t *testing.T) {
	dist := distDir(t)
	dpkg := testenv.LookPath(t, "dpkg")
	testenv.LookPath(t, "useradd")
	testenv.LookPath(t, "systemctl")
	needRoot(t)
	before := hostState(t)
	root := throwawayRoot(t)
	at := func(path string) string { return filepath.Join(root, path) }
	enabled := func(p linuxPackage) bool {
		return exists(at("etc/systemd/system/multi-user.target.wants/" + p.name + ".service"))
	}
	for _, p := range linuxPackages {
		dpkgIn(t, dpkg, root, "--install", one(t, dist, p.name+"_*_amd64.deb"))
	}
	if n := strings.Count(string(testenv.ReadFile(t, at("etc/passwd"))), "\nstorewatch:"); n != 1 {
		t.Errorf("%d storewatch users", n)
	}
	for _, p := range linuxPackages {
		if !enabled(p) || !exists(at("etc/storewatch/"+p.config)) || !exists(at(p.stateDir)) {
			t.Errorf("%s: enabled %v; its configuration or state directory is missing", p.name, enabled(p))
		}
	}

	// Purging each in turn leaves the others untouched; the last takes
	// /etc/storewatch with it.
	for i, p := range linuxPackages {
		dpkgIn(t, dpkg, root, "--purge", p.name)
		for _, other := range linuxPackages[i+1:] {
			if !enabled(other) || !exists(at("etc/storewatch/"+other.config)) || !exists(at(other.stateDir)) {
				t.Errorf("purging %s disabled %s or deleted its files", p.name, other.name)
			}
			if _, g, m := owner(t, at("etc/storewatch")); g == 0 || m != 0o750 {
				t.Errorf("purging %s changed /etc/storewatch to group %d, mode %o", p.name, g, m)
			}
		}
	}
	if exists(at("etc/storewatch")) {
		t.Error("/etc/storewatch is still there after purging every package")
	}
	if after := hostState(t); after != before {
		t.Errorf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// rpm itself installs the rpms side by side (they share /etc/storewatch
// without conflicting files) and erases one leaving the other's files. The
// scriptlets are left out: rpm would run them chrooted into the root.
func TestRPMsShareAMachine(t *testing.T) {
	dist := distDir(t)
	rpm := testenv.LookPath(t, "rpm")
	needRoot(t)
	root := t.TempDir()
	rpmIn := func(args ...string) {
		t.Helper()
		args = append([]string{"--root=" + root, "--dbpath=/var/lib/rpm"}, args...)
		if out, err := exec.Command(rpm, args...).CombinedOutput(); err != nil {
			t.Fatalf("rpm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rpmIn("--initdb")
	var files []string
	for _, p := range linuxPackages {
		files = append(files, one(t, dist, p.name+"-*.x86_64.rpm"))
	}
	rpmIn(append([]string{"--install", "--nodeps", "--noscripts"}, files...)...)
	for i, p := range linuxPackages {
		rpmIn("--erase", "--nodeps", "--noscripts", p.name)
		if exists(filepath.Join(root, "usr/bin", p.name)) {
			t.Errorf("erasing %s left /usr/bin/%s", p.name, p.name)
		}
		for _, other := range linuxPackages[i+1:] {
			for _, f := range []string{"usr/bin/" + other.name, "etc/storewatch/" + other.config, "usr/lib/systemd/system/" + other.name + ".service"} {
				if !exists(filepath.Join(root, f)) {
					t.Errorf("erasing %s deleted /%s", p.name, f)
				}
			}
		}
	}
}

// hubServes starts the installed storehub as the service would: as the
// storewatch user, with the installed minimal configuration (its data
// directory and ports moved into the throwaway root and to free ports), and
// stops it with SIGTERM, as systemd does.
func hubServes(t *testing.T, root string, uid, gid int) {
	t.Helper()
	// The storewatch user must reach the root (t.TempDir makes it 0700).
	for _, dir := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	api := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	mqtt := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	dataDir := filepath.Join(root, "var/lib/storehub")
	body := testenv.Replace(t, string(testenv.ReadFile(t, filepath.Join(root, "etc/storewatch/hub.yaml"))), map[string]string{
		"data_dir: /var/lib/storehub\n": "data_dir: " + dataDir + "\n",
		"listen: 127.0.0.1:8080\n":      "listen: " + api + "\n",
		`listen: ":1883"`:               "listen: " + mqtt,
	})
	config := filepath.Join(root, "etc/storewatch/hub-test.yaml")
	if err := os.WriteFile(config, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(config) // purge must find only the package's files
	if err := os.Chown(config, 0, gid); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(filepath.Join(root, "usr/bin/storehub"), "serve", "--config", config)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	hub := testenv.StartCmd(t, cmd)
	testenv.WaitFor(t, 20*time.Second, "storehub to take MQTT on "+mqtt+" and answer /healthz on "+api, func() bool {
		return hub.Exited() || testenv.Dialable(mqtt) && testenv.Answers("http://"+api+"/healthz")
	})
	if hub.Exited() {
		t.Fatalf("storehub stopped on its own:\n%s", hub.Output())
	}
	hub.Signal(syscall.SIGTERM)
	if err := hub.Wait(20 * time.Second); err != nil {
		t.Errorf("storehub did not stop cleanly on SIGTERM: %v\n%s", err, hub.Output())
	}
	// What it wrote belongs to the service user.
	for _, file := range []string{"hub.db", "signing_key.pem"} {
		if u, _, _ := owner(t, filepath.Join(dataDir, file)); u != uid {
			t.Errorf("%s/%s belongs to %d, not storewatch (%d)", dataDir, file, u, uid)
		}
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
	before := hostState(t)
	for _, p := range linuxPackages {
		t.Run(p.name, func(t *testing.T) {
			rpmScriptlets(t, rpm, rpm2archive, one(t, dist, p.name+"-*.x86_64.rpm"), p)
		})
	}
	if after := hostState(t); after != before {
		t.Errorf("the host changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func rpmScriptlets(t *testing.T, rpm, rpm2archive, file string, p linuxPackage) {
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
	unit := "/usr/lib/systemd/system/" + p.name + ".service"
	enabled := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/"+p.name+".service")
	config := filepath.Join(root, "etc/storewatch", p.config)
	stateDir := filepath.Join(root, p.stateDir)

	scriptlet("POSTIN", "1") // first install
	user := account(t, root, "passwd", "storewatch")
	if user == nil {
		t.Fatal("the rpm's post 1 created no storewatch user")
	}
	if uid, _, _ := owner(t, stateDir); strconv.Itoa(uid) != user[2] {
		t.Errorf("%s belongs to %d, not storewatch (%s)", p.stateDir, uid, user[2])
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
	if !exists(config) || !exists(stateDir) {
		t.Error("erasing deleted the configuration or the state directory")
	}
}
