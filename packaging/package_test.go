//go:build unix

package packaging_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"debug/elf"
	"debug/pe"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/internal/svc"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// The tests read what scripts/package wrote: STOREWATCH_DIST names the
// directory (scripts/test sets it after building the packages). Without it
// they are skipped, except under CI=true, where the packages must have been
// built and checked.
func distDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("STOREWATCH_DIST")
	if dir == "" {
		if testenv.CI() {
			t.Fatal("STOREWATCH_DIST is not set: scripts/test builds the packages with scripts/package and sets it")
		}
		t.Skip("no packages to check: run scripts/package, then STOREWATCH_DIST=$PWD/dist go test ./packaging")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir) // relative to the repository root
	}
	return dir
}

// buildInfo is dist/build-info.env: what scripts/package stamped.
type buildInfo struct{ Version, Commit, Date, MSIVersion string }

func readBuildInfo(t *testing.T, dist string) buildInfo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, "build-info.env"))
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	bi := buildInfo{kv["VERSION"], kv["COMMIT"], kv["DATE"], kv["MSI_VERSION"]}
	if bi.Version == "" || bi.Commit == "" || bi.Date == "" || bi.MSIVersion == "" {
		t.Fatalf("build-info.env is incomplete: %+v", bi)
	}
	return bi
}

// one returns the single file matching pattern in dist.
func one(t *testing.T, dist, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dist, pattern))
	if len(m) != 1 {
		t.Fatalf("want one %s in %s, found %v", pattern, dist, m)
	}
	return m[0]
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	return runIn(t, nil, name, args...)
}

// runIn runs a program with stdin and returns its standard output.
func runIn(t *testing.T, stdin io.Reader, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdin = stdin
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// commands are the directories under cmd/: every one is cross-built.
func commands(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob("../cmd/*/main.go")
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	if len(names) == 0 {
		t.Fatal("no commands under cmd/")
	}
	return names
}

// linuxPackage is one deb and rpm that scripts/package builds (a line of its
// linux_packages); every check here runs for each.
type linuxPackage struct {
	name     string   // the command, the package and its systemd unit
	config   string   // its file in /etc/storewatch
	stateDir string   // the directory the service writes, owned by storewatch
	groups   []string // supplementary groups of the storewatch user
	// exampleEnv is what the full example (CONFIG.example) needs in the
	// environment to load; without one of them, the error names it.
	exampleEnv []string
	// runs, when set, starts the installed program with the installed
	// configuration in a throwaway root, as the service would.
	runs func(t *testing.T, root string, uid, gid int)
}

var linuxPackages = []linuxPackage{
	{
		name: "storeagent", config: "agent.yaml", stateDir: "/var/lib/storewatch", groups: []string{"dialout", "plugdev"},
		// The agent's example checks as it is: its broker password is read
		// from STOREWATCH_BROKER_PASSWORD when the agent connects, not
		// when the file is checked.
	},
	{
		name: "storehub", config: "hub.yaml", stateDir: "/var/lib/storehub",
		exampleEnv: []string{"STOREHUB_VIEWER_TOKEN=viewer-token-0123456789", "STOREHUB_ENGINEER_TOKEN=engineer-token-0123456789"},
		runs:       hubServes,
	},
}

// defaultConfig is the file the package installs as its configuration:
// packaging/linux/CONFIG, or the example where there is none (as
// scripts/package chooses).
func (p linuxPackage) defaultConfig() string {
	if _, err := os.Stat("linux/" + p.config); err == nil {
		return "linux/" + p.config
	}
	return "examples/" + p.config
}

func packaged(name string) bool {
	for _, p := range linuxPackages {
		if p.name == name {
			return true
		}
	}
	return false
}

// The table above is scripts/package's list: a package added there is
// checked here too.
func TestEveryPackageIsChecked(t *testing.T) {
	script := string(testenv.ReadFile(t, "../scripts/package"))
	start := strings.Index(script, "\nlinux_packages=(\n")
	end := strings.Index(script[start+1:], "\n)\n")
	if start < 0 || end < 0 {
		t.Fatal("scripts/package has no linux_packages=( ... ) list")
	}
	var listed []string
	for _, line := range strings.Split(script[start+len("\nlinux_packages=(\n"):start+1+end], "\n") {
		f := strings.Fields(strings.Trim(strings.TrimSpace(line), `"`))
		if len(f) < 5 {
			t.Errorf("scripts/package: short line %q", line)
			continue
		}
		listed = append(listed, strings.Join(f[:4], " "))
	}
	var want []string
	for _, p := range linuxPackages {
		groups := strings.Join(p.groups, ",")
		if groups == "" {
			groups = "-"
		}
		want = append(want, strings.Join([]string{p.name, p.config, p.stateDir, groups}, " "))
	}
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Errorf("scripts/package builds\n%s\nbut the tests check\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
	// The directory the package gives the service is the one its unit lets
	// it write.
	for _, p := range linuxPackages {
		unit := string(testenv.ReadFile(t, "systemd/"+p.name+".service"))
		if want := "\nStateDirectory=" + strings.TrimPrefix(p.stateDir, "/var/lib/") + "\n"; !strings.Contains(unit, want) {
			t.Errorf("systemd/%s.service lacks %q", p.name, strings.TrimSpace(want))
		}
	}
}

// Every command is built for every target, stripped, with -trimpath and the
// version stamped; the libusb variant with cgo and the tag.
func TestCrossBuilds(t *testing.T) {
	dist := distDir(t)
	bi := readBuildInfo(t, dist)
	targets := []struct {
		dir, goos, goarch string
		cgo               bool
		machine           any // elf.Machine or the PE machine number
	}{
		{"linux_amd64", "linux", "amd64", false, elf.EM_X86_64},
		{"linux_arm64", "linux", "arm64", false, elf.EM_AARCH64},
		{"linux_arm", "linux", "arm", false, elf.EM_ARM},
		{"linux_386", "linux", "386", false, elf.EM_386},
		{"windows_amd64", "windows", "amd64", false, uint16(pe.IMAGE_FILE_MACHINE_AMD64)},
		{"windows_386", "windows", "386", false, uint16(pe.IMAGE_FILE_MACHINE_I386)},
		{"linux_amd64_libusb", "linux", "amd64", true, elf.EM_X86_64},
	}
	for _, tg := range targets {
		for _, name := range commands(t) {
			file := name
			if tg.goos == "windows" {
				file += ".exe"
			}
			path := filepath.Join(dist, "bin", tg.dir, file)
			t.Run(tg.dir+"/"+file, func(t *testing.T) {
				info, err := buildinfo.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				settings := map[string]string{}
				for _, s := range info.Settings {
					settings[s.Key] = s.Value
				}
				wantCgo, wantTags := "0", ""
				if tg.cgo {
					wantCgo, wantTags = "1", "libusb"
				}
				for k, want := range map[string]string{
					"GOOS": tg.goos, "GOARCH": tg.goarch, "CGO_ENABLED": wantCgo,
					"-trimpath": "true", "-tags": wantTags,
				} {
					if settings[k] != want {
						t.Errorf("%s = %q, want %q", k, settings[k], want)
					}
				}
				if tg.goarch == "arm" && settings["GOARM"] != "7" {
					t.Errorf("GOARM = %q, want 7", settings["GOARM"])
				}
				// -trimpath keeps -ldflags out of the build info: look for
				// the stamped values themselves, in every program that links
				// internal/version (its function names stay after -s).
				body := testenv.ReadFile(t, path)
				linksVersion := bytes.Contains(body, []byte("github.com/storewatch/storewatch/internal/version."))
				if packaged(name) && !linksVersion {
					t.Errorf("%s does not link internal/version", name)
				}
				for _, v := range []string{bi.Version, bi.Commit, bi.Date} {
					if linksVersion && !bytes.Contains(body, []byte(v)) {
						t.Errorf("%q is not stamped into the binary", v)
					}
				}
				switch want := tg.machine.(type) {
				case elf.Machine:
					f, err := elf.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					if f.Machine != want {
						t.Errorf("ELF machine %v, want %v", f.Machine, want)
					}
					for _, sec := range f.Sections {
						if sec.Name == ".symtab" || isDWARF(sec.Name) {
							t.Errorf("not stripped: has %s", sec.Name)
						}
					}
				case uint16:
					f, err := pe.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					if f.Machine != want {
						t.Errorf("PE machine %#x, want %#x", f.Machine, want)
					}
					if len(f.Symbols) != 0 {
						t.Errorf("not stripped: %d COFF symbols", len(f.Symbols))
					}
					for _, sec := range f.Sections {
						if isDWARF(sec.Name) {
							t.Errorf("not stripped: has %s", sec.Name)
						}
					}
				}
			})
		}
	}

	// The stamp is what `storeagent version` and `storehub version` print.
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		for _, p := range linuxPackages {
			for _, dir := range []string{"linux_amd64", "linux_amd64_libusb"} {
				out := string(run(t, filepath.Join(dist, "bin", dir, p.name), "version"))
				checkVersionLine(t, p.name, out, bi)
			}
		}
	}
}

// isDWARF tells debug sections, which -w leaves out.
func isDWARF(section string) bool {
	return strings.HasPrefix(section, ".debug") || strings.HasPrefix(section, ".zdebug")
}

func checkVersionLine(t *testing.T, program, out string, bi buildInfo) {
	t.Helper()
	for _, want := range []string{program + " " + bi.Version + " ", "commit " + bi.Commit[:12], "built " + bi.Date} {
		if !strings.Contains(out, want) {
			t.Errorf("%s version printed %q, lacking %q", program, out, want)
		}
	}
}

// entry is a file in a package's payload.
type entry struct {
	mode os.FileMode
	body []byte
	link string
}

// readTar lists a tar stream by clean absolute path.
func readTar(t *testing.T, r io.Reader) map[string]entry {
	t.Helper()
	files := map[string]entry{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Clean("/"+h.Name)] = entry{h.FileInfo().Mode(), body, h.Linkname}
	}
}

// checkPayload checks the files of one of p's packages, all it holds;
// unitDir is where its format puts the unit.
func checkPayload(t *testing.T, dist string, p linuxPackage, files map[string]entry, goarch, unitDir string) {
	t.Helper()
	want := map[string]struct {
		mode os.FileMode
		body string // the file whose content it must have; "" for none
	}{
		"/usr/bin/" + p.name:                       {0o755, filepath.Join(dist, "bin", "linux_"+goarch, p.name)},
		unitDir + "/" + p.name + ".service":        {0o644, "systemd/" + p.name + ".service"},
		"/etc/storewatch":                          {os.ModeDir | 0o750, ""},
		"/etc/storewatch/" + p.config:              {0o640, p.defaultConfig()},
		"/etc/storewatch/" + p.config + ".example": {0o640, "examples/" + p.config},
		"/etc/default/" + p.name:                   {0o600, "linux/" + p.name + ".default"},
		p.stateDir:                                 {os.ModeDir | 0o750, ""},
	}
	for path, w := range want {
		got, ok := files[path]
		if !ok {
			t.Errorf("%s is missing", path)
			continue
		}
		if got.mode != w.mode {
			t.Errorf("%s: mode %v, want %v", path, got.mode, w.mode)
		}
		if w.body != "" && !bytes.Equal(got.body, testenv.ReadFile(t, w.body)) {
			t.Errorf("%s differs from %s", path, w.body)
		}
	}
	// Nothing else, apart from the directories leading there.
	for path, e := range files {
		if _, ok := want[path]; ok || path == "/" {
			continue
		}
		if !e.mode.IsDir() || !strings.HasPrefix(unitDir+"/", path+"/") &&
			!slicesHasPrefix([]string{"/usr/bin", "/etc/default", "/var/lib"}, path) {
			t.Errorf("unexpected %s (%v) in the package", path, e.mode)
		}
	}
}

func slicesHasPrefix(dirs []string, path string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(d+"/", path+"/") {
			return true
		}
	}
	return false
}

var placeholder = regexp.MustCompile(`@[A-Z]+@`)

// checkScript checks a maintainer script: rendered, honouring DPKG_ROOT,
// and valid sh.
func checkScript(t *testing.T, p linuxPackage, name, body string) {
	t.Helper()
	if !strings.HasPrefix(body, "#!/bin/sh\n") {
		t.Errorf("%s does not start with #!/bin/sh", name)
	}
	if m := placeholder.FindString(body); m != "" {
		t.Errorf("%s still has the placeholder %s", name, m)
	}
	for _, want := range []string{"name=" + p.name + "\n", "root=${DPKG_ROOT:-}\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", f).CombinedOutput(); err != nil {
		t.Errorf("sh -n %s: %v\n%s", name, err, out)
	}
}

var debArch = map[string]string{"amd64": "amd64", "arm64": "arm64", "armhf": "arm", "i386": "386"}

func TestDeb(t *testing.T) {
	dist := distDir(t)
	dpkgDeb := testenv.LookPath(t, "dpkg-deb")
	bi := readBuildInfo(t, dist)
	for _, p := range linuxPackages {
		one(t, dist, p.name+"_*_amd64.deb") // CI builds at least this one
		debs, _ := filepath.Glob(filepath.Join(dist, p.name+"_*.deb"))
		for _, deb := range debs {
			t.Run(filepath.Base(deb), func(t *testing.T) { checkDeb(t, dpkgDeb, dist, bi, p, deb) })
		}
	}
}

func checkDeb(t *testing.T, dpkgDeb, dist string, bi buildInfo, p linuxPackage, deb string) {
	arch := strings.TrimSuffix(deb[strings.LastIndex(deb, "_")+1:], ".deb")
	goarch, ok := debArch[arch]
	if !ok {
		t.Fatalf("unknown architecture %s", arch)
	}
	field := func(name string) string {
		return strings.TrimSpace(string(run(t, dpkgDeb, "--field", deb, name)))
	}
	if got, want := field("Version"), strings.Replace(bi.Version, "-", "~", 1)+"-1"; got != want {
		t.Errorf("Version %s, want %s", got, want)
	}
	if field("Package") != p.name || field("Architecture") != arch {
		t.Errorf("Package %s, Architecture %s", field("Package"), field("Architecture"))
	}

	// The listing dpkg-deb -c prints, then the payload itself.
	listing := string(run(t, dpkgDeb, "--contents", deb))
	for _, path := range []string{"./usr/bin/" + p.name, "./lib/systemd/system/" + p.name + ".service", "./etc/storewatch/" + p.config} {
		if !strings.Contains(listing, " "+path+"\n") {
			t.Errorf("dpkg-deb -c does not list %s:\n%s", path, listing)
		}
	}
	files := readTar(t, bytes.NewReader(run(t, dpkgDeb, "--fsys-tarfile", deb)))
	checkPayload(t, dist, p, files, goarch, "/lib/systemd/system")

	ctrl := t.TempDir()
	run(t, dpkgDeb, "--control", deb, ctrl)
	conffiles := strings.Fields(string(testenv.ReadFile(t, filepath.Join(ctrl, "conffiles"))))
	sort.Strings(conffiles)
	if want := []string{"/etc/default/" + p.name, "/etc/storewatch/" + p.config, "/etc/storewatch/" + p.config + ".example"}; strings.Join(conffiles, " ") != strings.Join(want, " ") {
		t.Errorf("conffiles %v, want %v", conffiles, want)
	}
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		st, err := os.Stat(filepath.Join(ctrl, script))
		if err != nil {
			t.Errorf("no %s: %v", script, err)
			continue
		}
		if st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable (%v)", script, st.Mode())
		}
		checkScript(t, p, script, string(testenv.ReadFile(t, filepath.Join(ctrl, script))))
	}
}

// rpmPayload lists an rpm's files. (rpm2archive FILE would write FILE.tgz;
// from stdin it writes to stdout.)
func rpmPayload(t *testing.T, rpm2archive, file string) map[string]entry {
	t.Helper()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	gz, err := gzip.NewReader(bytes.NewReader(runIn(t, in, rpm2archive, "-")))
	if err != nil {
		t.Fatal(err)
	}
	return readTar(t, gz)
}

var rpmArch = map[string]string{"x86_64": "amd64", "aarch64": "arm64", "armv7hl": "arm", "i386": "386"}

func TestRPM(t *testing.T) {
	dist := distDir(t)
	rpm := testenv.LookPath(t, "rpm")
	rpm2archive := testenv.LookPath(t, "rpm2archive")
	bi := readBuildInfo(t, dist)
	for _, p := range linuxPackages {
		one(t, dist, p.name+"-*.x86_64.rpm")
		rpms, _ := filepath.Glob(filepath.Join(dist, p.name+"-*.rpm"))
		for _, file := range rpms {
			t.Run(filepath.Base(file), func(t *testing.T) { checkRPM(t, rpm, rpm2archive, dist, bi, p, file) })
		}
	}
}

func checkRPM(t *testing.T, rpm, rpm2archive, dist string, bi buildInfo, p linuxPackage, file string) {
	arch := strings.TrimSuffix(file[strings.LastIndex(strings.TrimSuffix(file, ".rpm"), ".")+1:], ".rpm")
	goarch, ok := rpmArch[arch]
	if !ok {
		t.Fatalf("unknown architecture %s", arch)
	}
	query := func(format string) string { return string(run(t, rpm, "-qp", "--qf", format, file)) }
	if got, want := query("%{NAME} %{VERSION}-%{RELEASE} %{ARCH}"), p.name+" "+strings.Replace(bi.Version, "-", "~", 1)+"-1 "+arch; got != want {
		t.Errorf("package %q, want %q", got, want)
	}

	// rpm -qlp, and which files are %config(noreplace).
	list := string(run(t, rpm, "-qlp", file))
	for _, path := range []string{"/usr/bin/" + p.name, "/usr/lib/systemd/system/" + p.name + ".service", "/etc/storewatch/" + p.config} {
		if !strings.Contains(list, path+"\n") {
			t.Errorf("rpm -qlp does not list %s:\n%s", path, list)
		}
	}
	flags := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(query(`[%{FILEFLAGS:fflags} %{FILENAMES}\n]`)), "\n") {
		if f, path, ok := strings.Cut(line, " "); ok {
			flags[path] = f
		} else {
			flags[line] = ""
		}
	}
	for path, want := range map[string]string{
		"/etc/storewatch/" + p.config: "cn", "/etc/default/" + p.name: "cn",
		"/etc/storewatch/" + p.config + ".example": "c", "/usr/bin/" + p.name: "",
	} {
		if flags[path] != want {
			t.Errorf("%s: file flags %q, want %q", path, flags[path], want)
		}
	}

	checkPayload(t, dist, p, rpmPayload(t, rpm2archive, file), goarch, "/usr/lib/systemd/system")

	for _, tag := range []string{"POSTIN", "PREUN", "POSTUN"} {
		if prog := query("%{" + tag + "PROG}"); prog != "/bin/sh" {
			t.Errorf("%s runs with %q, want /bin/sh", tag, prog)
		}
		checkScript(t, p, tag, query("%{"+tag+"}"))
	}
}

// msiTable reads one table with msiinfo export: a row per line, the columns
// named by the first line.
func msiTable(t *testing.T, msiinfo, msi, table string) []map[string]string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(run(t, msiinfo, "export", msi, table)))
	var cols []string
	var rows []map[string]string
	for n := 0; sc.Scan(); n++ {
		fields := strings.Split(sc.Text(), "\t")
		switch {
		case n == 0:
			cols = fields
		case n < 3: // column types, then the table name and its keys
		default:
			row := map[string]string{}
			for i, c := range cols {
				if i < len(fields) {
					row[c] = fields[i]
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func byKey(rows []map[string]string, key string) map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, r := range rows {
		m[r[key]] = r
	}
	return m
}

func TestMSI(t *testing.T) {
	dist := distDir(t)
	msiinfo := testenv.LookPath(t, "msiinfo")
	msiextract := testenv.LookPath(t, "msiextract")
	bi := readBuildInfo(t, dist)
	one(t, dist, "storeagent-*-x64.msi")
	msis, _ := filepath.Glob(filepath.Join(dist, "storeagent-*.msi"))
	for _, msi := range msis {
		t.Run(filepath.Base(msi), func(t *testing.T) {
			x64 := strings.HasSuffix(msi, "-x64.msi")
			goarch, progFiles, sysFolder, exeAttrs := "386", "ProgramFilesFolder", "SystemFolder", "0"
			if x64 {
				goarch, progFiles, sysFolder, exeAttrs = "amd64", "ProgramFiles64Folder", "System64Folder", "256" // 64-bit component
			}
			table := func(name, key string) map[string]map[string]string {
				return byKey(msiTable(t, msiinfo, msi, name), key)
			}

			props := table("Property", "Property")
			if v := props["ProductVersion"]["Value"]; v != bi.MSIVersion {
				t.Errorf("ProductVersion %s, want %s", v, bi.MSIVersion)
			}
			if props["UpgradeCode"]["Value"] != "{D2E8065A-5EE3-41C3-A60C-812D8ABD3C8A}" {
				t.Errorf("UpgradeCode changed: %s (upgrades would install side by side)", props["UpgradeCode"]["Value"])
			}

			dirs := table("Directory", "Directory")
			for dir, parent := range map[string]string{"INSTALLDIR": progFiles, "DATADIR": "CommonAppDataFolder"} {
				if d := dirs[dir]; d["Directory_Parent"] != parent || d["DefaultDir"] != "storewatch" {
					t.Errorf("directory %s = %v, want storewatch under %s", dir, d, parent)
				}
			}

			// Files, their components, and where they go.
			files := table("File", "FileName")
			comps := table("Component", "Component")
			for name, want := range map[string]struct{ comp, dir, attrs string }{
				"storeagent.exe":     {"AgentProgram", "INSTALLDIR", exeAttrs},
				"agent.yaml":         {"AgentConfig", "DATADIR", "144"}, // Permanent | NeverOverwrite
				"agent.yaml.example": {"AgentExample", "DATADIR", "0"},
			} {
				f, ok := files[name]
				if !ok {
					t.Errorf("File table lacks %s", name)
					continue
				}
				c := comps[f["Component_"]]
				if f["Component_"] != want.comp || c["Directory_"] != want.dir || c["Attributes"] != want.attrs || c["KeyPath"] != f["File"] {
					t.Errorf("%s: file %v in component %v, want component %s in %s with attributes %s", name, f, c, want.comp, want.dir, want.attrs)
				}
			}

			service := table("ServiceInstall", "Name")["storeagent"]
			for col, want := range map[string]string{
				"ServiceType": "16", // own process
				"StartType":   "2",  // automatic
				"StartName":   "LocalSystem",
				"Arguments":   `run --config "[CommonAppDataFolder]storewatch\agent.yaml"`,
				"Component_":  "AgentProgram",
			} {
				if service[col] != want {
					t.Errorf("ServiceInstall %s = %q, want %q", col, service[col], want)
				}
			}
			// Start on install; stop on install and uninstall; delete on uninstall.
			if ctl := table("ServiceControl", "Name")["storeagent"]; ctl["Event"] != "163" || ctl["Component_"] != "AgentProgram" {
				t.Errorf("ServiceControl = %v, want Event 163 (1|2|32|128)", ctl)
			}

			// Recovery and delayed start through sc.exe, deferred, elevated,
			// between InstallServices and StartServices.
			actions := table("CustomAction", "Action")
			seq := table("InstallExecuteSequence", "Action")
			order := func(a string) int {
				n := 0
				for _, c := range seq[a]["Sequence"] {
					n = n*10 + int(c-'0')
				}
				return n
			}
			// sc.exe of the MSI's own bitness: Wine without wine32 (and a
			// Windows without WoW64) cannot run the 32-bit one.
			if actions["SetScExe"]["Target"] != "["+sysFolder+"]sc.exe" || order("SetScExe") == 0 {
				t.Errorf("SetScExe = %v", actions["SetScExe"])
			}
			// The settings storeagent install makes (svc.WindowsRecovery).
			sc := svc.WindowsRecovery.ScCommands("storeagent")
			for name, cmd := range map[string]string{
				"ScFailureActions": sc[0],
				"ScFailureFlag":    sc[1],
				"ScDelayedStart":   sc[2],
			} {
				a := actions[name]
				// 50 (exe named by a property) + 1024 deferred + 2048 no impersonation + 64 ignore errors
				if a["Type"] != "3186" || a["Source"] != "SCEXE" || a["Target"] != cmd {
					t.Errorf("custom action %s = %v, want type 3186 running sc.exe %s", name, a, cmd)
				}
				if o := order(name); !(order("InstallServices") < o && o < order("StartServices")) || seq[name]["Condition"] != "NOT REMOVE" {
					t.Errorf("%s runs at %d (%v), want between InstallServices and StartServices, not on removal", name, o, seq[name])
				}
			}

			// The installer properties go into agent.yaml through the
			// installed storeagent.exe, elevated, after the files and
			// before the service starts; they are secure properties.
			apply := actions["ApplyProperties"]
			// 18 (an installed exe) + 1024 deferred + 2048 no impersonation
			if apply["Type"] != "3090" || apply["Source"] != "StoreagentExe" ||
				apply["Target"] != `config set "[CommonAppDataFolder]storewatch\agent.yaml" "broker.urls=[HUBURL]" "tenant=[TENANT]" "store=[STORE]" "agent=[AGENT]"` {
				t.Errorf("ApplyProperties = %v", apply)
			}
			if o := order("ApplyProperties"); !(order("InstallFiles") < o && o < order("StartServices")) ||
				seq["ApplyProperties"]["Condition"] != "NOT REMOVE AND (HUBURL OR TENANT OR STORE OR AGENT)" {
				t.Errorf("ApplyProperties runs at %d (%v)", o, seq["ApplyProperties"])
			}
			// Enrolment: the token is saved for the service's start by the
			// installed storeagent.exe, after the properties, before the
			// service starts; no log shows the token.
			save := actions["SaveEnrolment"]
			if save["Type"] != "3090" || save["Source"] != "StoreagentExe" ||
				save["Target"] != `enroll --later --hub "[ENROLLURL]" --token "[ENROLLTOKEN]" --store "[STORE]" --agent "[AGENT]" --config "[CommonAppDataFolder]storewatch\agent.yaml"` {
				t.Errorf("SaveEnrolment = %v", save)
			}
			if o := order("SaveEnrolment"); !(order("ApplyProperties") < o && o < order("StartServices")) ||
				seq["SaveEnrolment"]["Condition"] != "NOT REMOVE AND ENROLLTOKEN" {
				t.Errorf("SaveEnrolment runs at %d (%v)", o, seq["SaveEnrolment"])
			}
			if props["MsiHiddenProperties"]["Value"] != "ENROLLTOKEN" {
				t.Errorf("MsiHiddenProperties = %q, want ENROLLTOKEN", props["MsiHiddenProperties"]["Value"])
			}
			secure := strings.Split(strings.TrimSpace(props["SecureCustomProperties"]["Value"]), ";")
			for _, name := range []string{"HUBURL", "TENANT", "STORE", "AGENT", "ENROLLURL", "ENROLLTOKEN", "WIX_UPGRADE_DETECTED"} {
				if !slices.Contains(secure, name) {
					t.Errorf("SecureCustomProperties %v lacks %s", secure, name)
				}
			}

			// The event source, in a component of its own.
			reg := byKey(msiTable(t, msiinfo, msi, "Registry"), "Name")
			for name, value := range map[string]string{
				"EventMessageFile": "[" + sysFolder + "]EventCreate.exe",
				"TypesSupported":   "#7",
				"CustomSource":     "#1",
			} {
				r := reg[name]
				if r["Root"] != "2" || r["Key"] != `SYSTEM\CurrentControlSet\Services\EventLog\Application\storeagent\` || r["Value"] != value || r["Component_"] != "EventSource" {
					t.Errorf("registry value %s = %v, want %s under the event source key", name, r, value)
				}
			}

			// The payload is what was built.
			out := t.TempDir()
			run(t, msiextract, "-C", out, msi)
			for _, f := range []struct{ name, want string }{
				{"storeagent.exe", filepath.Join(dist, "bin", "windows_"+goarch, "storeagent.exe")},
				{"agent.yaml", "windows/agent.yaml"},
				{"agent.yaml.example", "windows/agent.yaml.example"},
			} {
				// msiextract (which exits 0 even when it fails) lays the
				// files out by its own idea of the folders: find them by name.
				var found []string
				filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() && d.Name() == f.name {
						found = append(found, path)
					}
					return nil
				})
				if len(found) != 1 {
					t.Errorf("msiextract gave %d files named %s: %v", len(found), f.name, found)
					continue
				}
				got := testenv.ReadFile(t, found[0])
				if !bytes.Equal(got, testenv.ReadFile(t, f.want)) {
					t.Errorf("%s in the MSI differs from %s", f.name, f.want)
				}
			}
		})
	}
}
