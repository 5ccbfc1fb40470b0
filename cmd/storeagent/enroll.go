package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/agent/enrol"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/version"
	"github.com/storewatch/storewatch/wire"
)

func init() {
	program.Add(cli.Command{Name: "enroll", Summary: "enrol this PC at the hub with a token: enroll --hub URL --token TOKEN --store STORE [--agent NAME]", Run: enrollCmd})
}

// newConfig is the configuration enroll starts from when there is none:
// the store's PC only, until devices are added (or the hub sends them).
const newConfig = `# storeagent's configuration, written by storeagent enroll.
tenant: unconfigured
store: unconfigured
agent: unconfigured

site:
  timezone: UTC         # the store's IANA time zone, e.g. Europe/Berlin

devices: []
`

func enrollCmd(ctx context.Context, args []string, std cli.Stdio) int {
	fs := program.Flags("enroll", std.Err)
	var p enrol.Pending
	fs.StringVar(&p.Hub, "hub", "", "the hub's API address, e.g. https://hub.example.com (required)")
	fs.StringVar(&p.Token, "token", "", "the enrolment token from storehub tokens create (required)")
	fs.StringVar(&p.Store, "store", "", "this store's id, e.g. S0042 (required)")
	fs.StringVar(&p.Agent, "agent", wire.DefaultAgentName, "this PC's agent id within the store; the same id again when a PC is replaced")
	fs.StringVar(&p.CAFile, "ca-file", "", "PEM CA of the hub's HTTPS certificate, if not publicly trusted")
	path := fs.String("config", defaultConfig(), "the configuration file to write")
	later := fs.Bool("later", false, "do not enrol now: leave the enrolment for the service's next start (installers)")
	pending := fs.Bool("pending", false, "carry out the enrolment an installer left (enroll.pending, STOREWATCH_ENROLL_*), if any; for the service's start")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	if *pending {
		// Never keeps the service from starting: it starts unenrolled and
		// logs why, and the next start tries again.
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second) // within systemd's start timeout
		defer cancel()
		log := slog.New(slog.NewTextHandler(std.Err, nil))
		enrollPending(ctx, *path, log)
		return cli.ExitOK
	}
	if p.Hub == "" || p.Token == "" || p.Store == "" {
		fmt.Fprintln(std.Err, "usage: storeagent enroll --hub URL --token TOKEN --store STORE [--agent NAME] [--config FILE]")
		return cli.ExitUsage
	}
	if err := p.Check(); err != nil {
		fmt.Fprintf(std.Err, "storeagent enroll: %v\n", err)
		return cli.ExitUsage
	}
	if *later {
		if err := enrol.SavePending(*path, p); err != nil {
			fmt.Fprintf(std.Err, "storeagent enroll: %v\n", err)
			return cli.ExitFailed
		}
		fmt.Fprintf(std.Out, "enrolment of store %s saved; the service carries it out when it starts\n", p.Store)
		return cli.ExitOK
	}
	if plainOverNetwork(p.Hub) {
		fmt.Fprintf(std.Err, "warning: %s is plain HTTP: the token and this PC's broker password cross the network unencrypted; use https:// (and --ca-file for a private CA)\n", p.Hub)
	}
	res, err := enrollNow(ctx, *path, p)
	if err != nil {
		fmt.Fprintf(std.Err, "storeagent enroll: %v\n", err)
		if final(err) {
			return cli.ExitUsage
		}
		return cli.ExitFailed
	}
	replaced := ""
	if res.Replaced {
		replaced = " (replacing the PC enrolled before under this id; the store keeps its history)"
	}
	fmt.Fprintf(std.Out, "enrolled as %s%s\nbroker: %s\nconfiguration: %s\nbroker password: %s (readable by the service only)\n",
		res.AgentID, replaced, strings.Join(res.BrokerURLs, ", "), *path, enrol.SecretFile(*path))
	fmt.Fprintln(std.Out, "restart the service to connect: storeagent restart")
	return cli.ExitOK
}

// enrollNow enrols at the hub and writes the password and the
// configuration. The configuration is checked before the token is spent.
func enrollNow(ctx context.Context, file string, p enrol.Pending) (*wire.EnrolResponse, error) {
	doc, err := os.ReadFile(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		doc = []byte(newConfig)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		var out strings.Builder
		if _, _, ok := load(file, &out); !ok && !onlyBrokerMistakes(out.String()) {
			return nil, fmt.Errorf("%s does not check; fix it first:\n%s", file, out.String())
		}
	}
	host, _ := os.Hostname()
	if p.Agent == "" {
		p.Agent = wire.DefaultAgentName
	}
	req := wire.EnrolRequest{Token: p.Token, Store: p.Store, Agent: p.Agent, Hostname: host, OS: runtime.GOOS + "/" + runtime.GOARCH,
		Version: version.String()}
	res, err := enrol.Request(ctx, p.Hub, req, enrol.Options{CAFile: p.CAFile})
	if err != nil {
		return nil, err
	}
	secret := enrol.SecretFile(file)
	if err := enrol.WriteSecret(secret, []byte(res.Password+"\n")); err != nil {
		return nil, &notWritten{fmt.Errorf("writing the broker password: %w", err)}
	}
	changes := []assignment{
		{"tenant", res.Tenant}, {"store", res.Store}, {"agent", res.Agent},
		{"broker.urls", strings.Join(res.BrokerURLs, ",")}, {"broker.username", res.Username},
		{"broker.password_file", filepath.Base(secret)}, {"remote.hub_public_key", res.HubPublicKey},
	}
	if res.CACert != "" {
		ca := filepath.Join(filepath.Dir(file), "broker-ca.pem")
		if err := os.WriteFile(ca, []byte(res.CACert), 0o644); err != nil {
			return nil, &notWritten{err}
		}
		changes = append(changes, assignment{"broker.ca_file", ca})
	}
	edited, err := setSettings(doc, nonEmpty(changes))
	if err == nil {
		edited, err = unsetSettings(edited, "broker.password")
	}
	if err == nil {
		err = replaceChecked(file, edited)
	}
	if err != nil {
		return nil, &notWritten{fmt.Errorf("enrolled as %s, but %s could not be written: %w", res.AgentID, file, err)}
	}
	return res, nil
}

// notWritten is an enrolment that went through at the hub but could not
// be written here: trying again would spend the token again.
type notWritten struct{ error }

func (e *notWritten) Unwrap() error { return e.error }

// final reports whether trying an enrolment again cannot help.
func final(err error) bool {
	var nw *notWritten
	return enrol.Permanent(err) || errors.As(err, &nw)
}

// onlyBrokerMistakes reports whether config check's complaints are all
// about the broker password, which enrolment replaces.
func onlyBrokerMistakes(out string) bool {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if !strings.Contains(l, "broker.password") && !strings.Contains(l, "STOREWATCH_BROKER_PASSWORD") {
			return false
		}
	}
	return len(lines) > 0
}

func nonEmpty(cs []assignment) []assignment {
	var out []assignment
	for _, c := range cs {
		if c.value != "" {
			out = append(out, c)
		}
	}
	return out
}

// unsetSettings removes settings (section.name) from a YAML document.
func unsetSettings(doc []byte, keys ...string) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return doc, nil
	}
	changed := false
	for _, key := range keys {
		m := root.Content[0]
		path := strings.Split(key, ".")
		for _, section := range path[:len(path)-1] {
			if m = lookup(m, section); m == nil || m.Kind != yaml.MappingNode {
				break
			}
		}
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		name := path[len(path)-1]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == name {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
				changed = true
				break
			}
		}
	}
	if !changed {
		return doc, nil
	}
	return config.EncodeYAML(&root)
}

// enrollPending carries out an enrolment left for the service (by the
// installer), retrying while the hub cannot be reached, until ctx ends.
// It reports whether the configuration changed.
func enrollPending(ctx context.Context, file string, log *slog.Logger) bool {
	p, err := enrol.LoadPending(file, os.LookupEnv)
	if err != nil {
		log.Error("the pending enrolment is unusable; enrol with storeagent enroll", "err", err)
		_ = enrol.Done(file, err)
		return false
	}
	if p == nil || enrolledAs(file, p) {
		return false
	}
	if err := writable(filepath.Dir(file)); err != nil {
		// The packaged Linux service may not write /etc/storewatch: its
		// ExecStartPre runs storeagent enroll --pending as root instead.
		log.Warn("an enrolment is pending but the configuration cannot be written here; it is carried out by storeagent enroll --pending as root (the service's start does that)",
			"err", err)
		return false
	}
	wait := 10 * time.Second
	for {
		res, err := enrollNow(ctx, file, *p)
		if err == nil {
			log.Info("enrolled at the hub", "agent", res.AgentID.String(), "broker", strings.Join(res.BrokerURLs, ","), "replaced", res.Replaced)
			if err := enrol.Done(file, nil); err != nil {
				log.Warn("the pending enrolment file could not be removed", "err", err)
			}
			return true
		}
		if final(err) {
			log.Error("enrolment failed for good; the agent runs without the hub until enrolled with storeagent enroll and a new token", "err", err)
			_ = enrol.Done(file, err)
			return false
		}
		log.Warn("enrolment failed; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// enrolledAs reports whether the configuration is already enrolled for
// p's store (the deb's variables stay in /etc/default/storeagent after the
// first start).
func enrolledAs(file string, p *enrol.Pending) bool {
	if _, err := os.Stat(enrol.PendingFile(file)); err == nil {
		return false // an installer asked for this enrolment again
	}
	cfg, _, ok := load(file, io.Discard)
	agent := p.Agent
	if agent == "" {
		agent = wire.DefaultAgentName
	}
	return ok && cfg.Broker.PasswordFile != "" && cfg.Store == p.Store && cfg.ID == agent
}

// writable checks that files can be created in dir.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".storeagent-write-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// plainOverNetwork reports whether hub is an http:// address of a host
// that is not this machine: an enrolment there is readable on the way.
func plainOverNetwork(hub string) bool {
	u, err := url.Parse(hub)
	if err != nil || u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return false
	}
	ip := net.ParseIP(h)
	return ip == nil || !ip.IsLoopback()
}
