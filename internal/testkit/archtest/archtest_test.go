package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the rules table in docs/architecture.md")

const module = "github.com/storewatch/storewatch"

// A rule says that the packages under From may not depend on the packages
// under any of MayNot, directly or through others. Paths are relative to the
// module; "x" stands for x and everything under it (with Exact, From is the
// one package). With Tests, the packages' tests are held to the rule too.
type rule struct {
	From   string
	Exact  bool
	MayNot []string
	Tests  bool
	Why    string
}

// rules are the import rules of docs/architecture.md.
var rules = []rule{
	{From: "cmd/storehub", MayNot: []string{"agent", "collector", "uplink", "drivers", "devsim", "cmd/storewatch-demo", "internal/testkit"},
		Why: "the hub's binary links no agent, driver or emulator code"},
	{From: "cmd/storeagent", MayNot: []string{"hub", "devsim", "cmd/storewatch-demo", "internal/testkit"},
		Why: "the agent's binary links no hub or emulator code"},
	{From: "hub", MayNot: []string{"agent", "collector", "uplink", "drivers", "devsim"},
		Why: "the hub knows the agent only through wire"},
	{From: "agent", MayNot: []string{"hub", "devsim"}, Why: "the agent knows the hub only through wire"},
	{From: "collector", MayNot: []string{"hub", "uplink", "agent", "devsim"}, Why: "the collector is a room with a two-method seam"},
	{From: "uplink", MayNot: []string{"hub", "collector", "drivers", "agent", "devsim"}, Why: "the uplink moves wire messages, whatever produced them"},
	{From: "drivers", MayNot: []string{"devsim", "internal/testkit", "collector", "uplink", "agent", "hub"},
		Why: "drivers, their test helpers included, never use the emulators (and know nothing of MQTT)"},
	{From: "devsim", MayNot: []string{"drivers"}, Tests: true,
		Why: "emulators are written from the protocol reference, never from the driver's code"},
	{From: "wire", MayNot: []string{"agent", "collector", "config", "drivers", "uplink", "hub", "devsim", "internal", "cmd"},
		Why: "wire is the contract both sides share and depends on neither"},
	{From: "config", MayNot: []string{"agent", "collector", "drivers", "uplink", "hub", "devsim", "internal", "cmd"},
		Why: "config reads the files; each part defines and checks its own section"},
	{From: "hub/helpdesk", Exact: true, MayNot: []string{"hub/helpdesk/redmine", "hub/helpdesk/webhook", "hub/helpdesk/email", "hub/helpdesk/all"},
		Why: "the outbox is shared; connectors register by name, nothing chooses them by type"},
	{From: "internal/clock", MayNot: leaves, Why: "a runtime leaf"},
	{From: "internal/version", MayNot: leaves, Why: "a runtime leaf"},
	{From: "internal/svc", MayNot: leaves, Why: "a runtime leaf (svctest, its test helper, may use the test kit)"},
	{From: "internal/cli", MayNot: leaves, Why: "a runtime leaf"},
	{From: "internal/ptyline", MayNot: leaves, Why: "a runtime leaf: the raw pseudo-terminal both the emulators and the serial tap open"},
}

// leaves may not depend on any part of the product.
var leaves = []string{"agent", "collector", "config", "drivers", "uplink", "hub", "devsim", "wire", "cmd"}

// pkg is what go list says about one package of the module.
type pkg struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
}

// graph maps module-relative paths to packages.
type graph map[string]pkg

// load lists the module's packages as they build for goos.
func load(t *testing.T, goos string) graph {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list (GOOS=%s): %v\n%s", goos, err, stderr.String())
	}
	g, err := parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("go list (GOOS=%s): %v", goos, err)
	}
	return g
}

// parse reads go list -json's stream of objects.
func parse(r io.Reader) (graph, error) {
	g := graph{}
	dec := json.NewDecoder(r)
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return g, nil
		}
		if err != nil {
			return nil, err
		}
		if rel, ok := relative(p.ImportPath); ok {
			g[rel] = p
		}
	}
}

// relative turns an import path of the module into a module-relative one.
func relative(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// deps returns every module package that the given imports reach, each with
// the chain of imports that reaches it.
func (g graph) deps(from string, imports []string) map[string][]string {
	chains := map[string][]string{}
	var walk func(chain []string, imports []string)
	walk = func(chain []string, imports []string) {
		for _, imp := range imports {
			rel, ok := relative(imp)
			if !ok || chains[rel] != nil {
				continue
			}
			c := append(slices.Clip(chain), rel)
			chains[rel] = c
			walk(c, g[rel].Imports)
		}
	}
	walk([]string{from}, imports)
	return chains
}

// violations returns one line per package that breaks a rule.
func (g graph) violations(rules []rule) []string {
	var out []string
	names := make([]string, 0, len(g))
	for name := range g {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, r := range rules {
		for _, name := range names {
			if !under(name, r.From) || r.Exact && name != r.From {
				continue
			}
			p := g[name]
			imports := p.Imports
			if r.Tests {
				imports = slices.Concat(p.Imports, p.TestImports, p.XTestImports)
			}
			chains := g.deps(name, imports)
			reached := make([]string, 0, len(chains))
			for dep := range chains {
				reached = append(reached, dep)
			}
			slices.Sort(reached)
			for _, dep := range reached {
				for _, banned := range r.MayNot {
					if under(dep, banned) && dep != name {
						out = append(out, fmt.Sprintf("%s depends on %s (%s): %s", name, dep, strings.Join(chains[dep], " → "), r.Why))
					}
				}
			}
		}
	}
	return out
}

// TestImportRules is the rule book applied to the real module, as it builds
// for Linux and for Windows.
func TestImportRules(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		g := load(t, goos)
		for _, r := range rules {
			if !g.has(r.From) {
				t.Errorf("GOOS=%s: the rule for %s names no package of the module", goos, r.From)
			}
		}
		for _, v := range g.violations(rules) {
			t.Errorf("GOOS=%s: %s", goos, v)
		}
	}
}

// has reports whether the module has a package in dir: a rule about a
// folder that was moved away would hold trivially.
func (g graph) has(dir string) bool {
	for name := range g {
		if under(name, dir) {
			return true
		}
	}
	return false
}

// TestViolationsAreFound shows that the check catches what it is for, on a
// made-up module: an indirect import, a test's import when tests count, and
// not a test's import when they do not.
func TestViolationsAreFound(t *testing.T) {
	m := func(rel ...string) []string {
		out := make([]string, len(rel))
		for i, r := range rel {
			out[i] = module + "/" + r
		}
		return out
	}
	g := graph{
		"cmd/storehub":      {Imports: m("hub")},
		"hub":               {Imports: m("hub/demo", "wire")},
		"hub/demo":          {Imports: append(m("agent"), "fmt")},
		"agent":             {Imports: m("drivers/escpos")},
		"drivers/escpos":    {Imports: m("wire"), TestImports: m("devsim/escpos")},
		"devsim/escpos":     {Imports: m("devsim")},
		"devsim":            {},
		"wire":              {},
		"devsim/zvt":        {XTestImports: m("drivers/zvt")},
		"drivers/zvt":       {},
		"drivers/snmptest":  {Imports: m("devsim")},
		"cmd/storeagent":    {Imports: m("agent")},
		"hub/broker/broker": {},
	}
	got := g.violations([]rule{
		{From: "cmd/storehub", MayNot: []string{"agent", "drivers"}, Why: "hub"},
		{From: "cmd/storeagent", MayNot: []string{"hub"}, Why: "agent"},
		{From: "devsim", MayNot: []string{"drivers"}, Tests: true, Why: "emulators"},
		{From: "drivers", MayNot: []string{"devsim"}, Why: "drivers"},
	})
	want := []string{
		"cmd/storehub depends on agent (cmd/storehub → hub → hub/demo → agent): hub",
		"cmd/storehub depends on drivers/escpos (cmd/storehub → hub → hub/demo → agent → drivers/escpos): hub",
		"devsim/zvt depends on drivers/zvt (devsim/zvt → drivers/zvt): emulators",
		"drivers/snmptest depends on devsim (drivers/snmptest → devsim): drivers",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// table renders the rules as docs/architecture.md shows them.
func table(rules []rule) string {
	var b strings.Builder
	b.WriteString("| the packages of | may not depend on | tests too | because |\n|---|---|---|---|\n")
	for _, r := range rules {
		from := "`" + r.From + "`"
		if !r.Exact {
			from += " and below"
		}
		mayNot := make([]string, len(r.MayNot))
		for i, m := range r.MayNot {
			mayNot[i] = "`" + m + "`"
		}
		tests := ""
		if r.Tests {
			tests = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", from, strings.Join(mayNot, ", "), tests, r.Why)
	}
	return b.String()
}

const (
	docStart = "<!-- architecture-rules:start (generated by go test ./internal/testkit/archtest -update) -->\n"
	docEnd   = "<!-- architecture-rules:end -->"
)

// docs/architecture.md shows the rules this test applies, no others.
func TestArchitectureDocShowsTheRules(t *testing.T) {
	const file = "../../../docs/architecture.md"
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, docStart), strings.Index(s, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q ... %q", file, docStart, docEnd)
	}
	want := table(rules)
	if s[i+len(docStart):j] == want {
		return
	}
	if !*update {
		t.Fatalf("%s's rules table is out of date; run: go test ./internal/testkit/archtest -update", file)
	}
	if err := os.WriteFile(file, []byte(s[:i+len(docStart)]+want+s[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}
