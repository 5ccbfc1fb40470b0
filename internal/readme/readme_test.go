package readme

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// command is one line of a shell block.
type command struct {
	line    string   // as README.md has it
	program string   // storeagent, storehub, storewatch-demo; "" for scripts/
	args    []string // after the program
}

// readmeCommands returns the commands of README.md's ```sh blocks, without
// their comments.
func readmeCommands(t *testing.T) []command {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []command
	in := false
	sc := bufio.NewScanner(f)
	comment := regexp.MustCompile(`\s+#.*$`)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		line = strings.TrimSpace(comment.ReplaceAllString(line, ""))
		if line == "" {
			continue
		}
		c := command{line: line}
		fields := strings.Fields(line)
		if len(fields) >= 3 && fields[0] == "go" && fields[1] == "run" && strings.HasPrefix(fields[2], "./cmd/") {
			c.program, c.args = strings.TrimPrefix(fields[2], "./cmd/"), fields[3:]
		} else if !strings.HasPrefix(fields[0], "scripts/") {
			t.Errorf("README.md shows %q, which this test does not know how to run: teach it", line)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every command README.md shows works as written: it starts (the
// long-running ones until they are up, then Ctrl-C ends them cleanly) or
// answers OK, with nothing but the repository, on this machine, without
// root and without environment variables. Each runs from its own scratch
// directory, with paths into the repository made absolute, so that what it
// writes (./storehub-data, the agent's outbox) does not land in the
// checkout; the hub's two listen addresses are moved to free ports so that
// parallel test runs do not collide. scripts/ are the test suite and the
// benchmarks themselves.
func TestReadmeCommandsWorkAsWritten(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t)
	if len(cmds) < 5 {
		t.Fatalf("found only %d commands in README.md's shell blocks: %v", len(cmds), cmds)
	}
	bins := map[string]string{}
	build := func(program string) string {
		if bins[program] == "" {
			bin := filepath.Join(t.TempDir(), program)
			out, err := exec.Command("go", "build", "-o", bin, "github.com/storewatch/storewatch/cmd/"+program).CombinedOutput()
			if err != nil {
				t.Fatalf("build %s: %v\n%s", program, err, out)
			}
			bins[program] = bin
		}
		return bins[program]
	}
	// The hub the client commands ask: the last one served.
	hubAPI := ""
	for _, c := range cmds {
		if c.program == "" {
			t.Logf("not run here: %s (the suite itself)", c.line)
			continue
		}
		t.Run(c.line, func(t *testing.T) {
			dir := t.TempDir()
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = a
				if strings.HasPrefix(a, "packaging/") {
					args[i] = filepath.Join(repo, a)
				}
			}
			env := freshEnv()
			switch {
			case c.program == "storehub" && len(args) > 0 && args[0] == "serve":
				cfg, api := movedPorts(t, args[len(args)-1], dir)
				args[len(args)-1] = cfg
				p := testenv.StartCmd(t, commandIn(build(c.program), args, dir, env))
				testenv.WaitFor(t, 60*time.Second, "the hub's API", func() bool { return testenv.Answers("http://"+api+"/healthz") || p.Exited() })
				if p.Exited() {
					t.Fatalf("%s stopped:\n%s", c.line, p.Output())
				}
				hubAPI = "http://" + api
				t.Cleanup(func() { stop(t, p, "") }) // exit 0 is its clean stop
				// The client commands below ask this hub; run them now.
				for _, cc := range cmds {
					if cc.program == "storehub" && len(cc.args) > 0 && isClient(cc.args[0]) {
						out, err := commandIn(build("storehub"), cc.args, dir, append(env, "STOREHUB_API="+hubAPI)).CombinedOutput()
						if err != nil {
							t.Errorf("%s: %v\n%s", cc.line, err, out)
						}
					}
				}
			case c.program == "storehub" && len(args) > 0 && isClient(args[0]):
				if hubAPI == "" {
					t.Errorf("README.md shows %q before any hub to ask", c.line)
				}
				// run with the hub above
			case c.program == "storeagent" && len(args) > 0 && args[0] == "run":
				p := testenv.StartCmd(t, commandIn(build(c.program), args, dir, env))
				testenv.WaitFor(t, 60*time.Second, "the agent to start", func() bool {
					return strings.Contains(p.Output(), "storeagent started") || p.Exited()
				})
				if p.Exited() {
					t.Fatalf("%s stopped:\n%s", c.line, p.Output())
				}
				stop(t, p, "storeagent stopped")
			case c.program == "storewatch-demo":
				p := testenv.StartCmd(t, commandIn(build(c.program), args, dir, env))
				testenv.WaitFor(t, 120*time.Second, "the demo's first lines", func() bool {
					return strings.Contains(p.Output(), "storewatch demo:") && strings.Contains(p.Output(), "Ctrl-C stops everything") || p.Exited()
				})
				if p.Exited() {
					t.Fatalf("%s stopped:\n%s", c.line, p.Output())
				}
				stop(t, p, "stopped: the agent, the hub and the emulators are down")
			default:
				out, err := commandIn(build(c.program), args, dir, env).CombinedOutput()
				if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
					t.Errorf("%s: %v\n%s", c.line, err, out)
				}
			}
		})
	}
}

// freshEnv is this environment without the programs' own variables
// (STOREHUB_*, STOREWATCH_*), as on a machine that never ran them.
func freshEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STOREHUB_") && !strings.HasPrefix(kv, "STOREWATCH_") {
			out = append(out, kv)
		}
	}
	return out
}

func isClient(sub string) bool {
	return sub == "incidents" || sub == "devices" || sub == "stores" || sub == "query"
}

func commandIn(bin string, args []string, dir string, env []string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	return cmd
}

// stop sends Ctrl-C (SIGINT) and expects a clean end that says so.
func stop(t *testing.T, p *testenv.Process, says string) {
	t.Helper()
	if p.Exited() {
		return
	}
	p.Signal(syscall.SIGINT)
	if err := p.Wait(60 * time.Second); err != nil {
		t.Errorf("after Ctrl-C: %v\n%s", err, p.Output())
	}
	if says != "" && !strings.Contains(p.Output(), says) {
		t.Errorf("after Ctrl-C it did not say %q:\n%s", says, p.Output())
	}
}

// movedPorts copies a hub configuration into dir with its API and broker
// addresses on free loopback ports, and returns the copy and the API's
// address.
func movedPorts(t *testing.T, file, dir string) (string, string) {
	t.Helper()
	data := string(testenv.ReadFile(t, file))
	api := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	mqtt := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	moved := testenv.Replace(t, data, map[string]string{"listen: 127.0.0.1:8080": "listen: " + api, "listen: 127.0.0.1:1883": "listen: " + mqtt})
	out := filepath.Join(dir, filepath.Base(file))
	if err := os.WriteFile(out, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	return out, api
}
