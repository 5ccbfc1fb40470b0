package tickets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// DefaultStep is the runbook key for steps that apply to every device kind
// without steps of its own.
const DefaultStep = "default"

// Language is one language file (content/<lang>/language.yaml, or an
// operator's override of it): the words a ticket needs that templates cannot
// hold, and the runbook ("diagnostic map": fault code → what to do, per
// device kind).
type Language struct {
	Name       string               `yaml:"name"`       // the language's own name: English, Deutsch, Русский
	Kinds      map[string]string    `yaml:"kinds"`      // device kind → its name: receipt_printer → receipt printer
	Remedies   map[string]string    `yaml:"remedies"`   // remedy class → who fixes it, in words
	Priorities map[int]string       `yaml:"priorities"` // 1..5 → "critical", ...
	Faults     map[string]FaultText `yaml:"faults"`     // fault code → texts and steps
	// Console holds what the web console says instead of the hub's
	// identifiers: a sentence per timeline entry (Entry.Say), why an episode
	// opened no incident (suppressed.*), how an incident ended
	// (resolution.*), what a notification was (notification.*) and
	// no_helpdesk. ConsoleKeys lists them.
	Console map[string]string `yaml:"console"`
}

// ConsoleKeys are the console: texts every language has.
func ConsoleKeys() []string {
	keys := slices.Clone(incident.Sentences)
	keys = append(keys, "no_helpdesk")
	for _, k := range []incident.NotificationKind{incident.NotifyOpened, incident.NotifyUpdated, incident.NotifyResolved,
		incident.NotifyClosed, incident.NotifyFlapping, incident.NotifyChronic} {
		keys = append(keys, "notification."+string(k))
	}
	for _, r := range incident.SuppressReasons {
		keys = append(keys, "suppressed."+r)
	}
	for _, r := range incident.Resolutions {
		keys = append(keys, "resolution."+r)
	}
	return keys
}

// FaultText is what a language says about one fault code.
type FaultText struct {
	Title   string            `yaml:"title"`   // short, for ticket subjects: "Paper out"
	Meaning string            `yaml:"meaning"` // plain words for first-line support
	Steps   map[string]string `yaml:"steps"`   // device kind or "default" → what to do
}

// ParseLanguage reads a language file. It is strict: unknown settings,
// unknown fault codes, device kinds and remedy classes are errors (with the
// line), so a typo in an operator's runbook is found at start-up, not when
// the first ticket goes out without its steps. The file may be partial (an
// override); Complete says what a language still lacks.
func ParseLanguage(name string, data []byte) (*Language, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	l := &Language{}
	if len(doc.Content) == 0 {
		return l, nil // an empty override changes nothing
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the file must be a mapping (name:, kinds:, remedies:, faults:)", name, doc.Content[0].Line)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(l); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs []string
	bad := func(path []string, format string, args ...any) {
		line := keyLine(doc.Content[0], path...)
		errs = append(errs, fmt.Sprintf("%s:%d: %s: %s", name, line, strings.Join(path, "."), fmt.Sprintf(format, args...)))
	}
	for k := range l.Kinds {
		if !slices.Contains(config.Kinds, k) {
			bad([]string{"kinds", k}, "unknown device kind (known: %s)", strings.Join(config.Kinds, ", "))
		}
	}
	for k := range l.Console {
		if !slices.Contains(ConsoleKeys(), k) {
			bad([]string{"console", k}, "unknown console text (known: %s)", strings.Join(ConsoleKeys(), ", "))
		}
	}
	for r := range l.Remedies {
		switch wire.Remedy(r) {
		case wire.RemedyStore, wire.RemedyRemote, wire.RemedyDispatch:
		default:
			bad([]string{"remedies", r}, "unknown remedy class (want store, remote or dispatch)")
		}
	}
	for p := range l.Priorities {
		if p < 1 || p > 5 {
			bad([]string{"priorities", fmt.Sprint(p)}, "priorities run from 1 (critical) to 5")
		}
	}
	for code, ft := range l.Faults {
		if !wire.FaultCode(code).Known() {
			bad([]string{"faults", code}, "unknown fault code (see wire.Vocabulary)")
			continue
		}
		for k, step := range ft.Steps {
			if k != DefaultStep && !slices.Contains(config.Kinds, k) {
				bad([]string{"faults", code, "steps", k}, "unknown device kind (want %q or one of %s)", DefaultStep, strings.Join(config.Kinds, ", "))
			}
			if strings.TrimSpace(step) == "" {
				bad([]string{"faults", code, "steps", k}, "empty step")
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return l, nil
}

// keyLine finds the line of a nested mapping key, or the nearest parent's.
func keyLine(n *yaml.Node, path ...string) int {
	line := n.Line
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

// merge lays o over l: every text o gives replaces l's; steps are replaced
// per device kind.
func (l *Language) merge(o *Language) {
	if o.Name != "" {
		l.Name = o.Name
	}
	l.Kinds = mergeMap(l.Kinds, o.Kinds)
	l.Remedies = mergeMap(l.Remedies, o.Remedies)
	l.Priorities = mergeMap(l.Priorities, o.Priorities)
	l.Console = mergeMap(l.Console, o.Console)
	if l.Faults == nil {
		l.Faults = map[string]FaultText{}
	}
	for code, ot := range o.Faults {
		ft := l.Faults[code]
		if ot.Title != "" {
			ft.Title = ot.Title
		}
		if ot.Meaning != "" {
			ft.Meaning = ot.Meaning
		}
		ft.Steps = mergeMap(maps.Clone(ft.Steps), ot.Steps)
		l.Faults[code] = ft
	}
}

func mergeMap[K comparable](dst, src map[K]string) map[K]string {
	if dst == nil {
		dst = map[K]string{}
	}
	for k, v := range src {
		if v != "" {
			dst[k] = v
		}
	}
	return dst
}

// Missing lists what a language lacks to write every ticket: a name for
// every device kind and remedy class, and a title, a meaning and default
// steps for every fault code in the vocabulary.
func (l *Language) Missing() []string {
	var out []string
	if l.Name == "" {
		out = append(out, "name")
	}
	for _, k := range config.Kinds {
		if l.Kinds[k] == "" {
			out = append(out, "kinds."+k)
		}
	}
	for _, r := range []wire.Remedy{wire.RemedyStore, wire.RemedyRemote, wire.RemedyDispatch} {
		if l.Remedies[string(r)] == "" {
			out = append(out, "remedies."+string(r))
		}
	}
	for _, k := range ConsoleKeys() {
		if l.Console[k] == "" {
			out = append(out, "console."+k)
		}
	}
	for _, f := range wire.Vocabulary() {
		ft := l.Faults[string(f.Code)]
		if ft.Title == "" {
			out = append(out, "faults."+string(f.Code)+".title")
		}
		if ft.Meaning == "" {
			out = append(out, "faults."+string(f.Code)+".meaning")
		}
		if ft.Steps[DefaultStep] == "" {
			out = append(out, "faults."+string(f.Code)+".steps.default")
		}
	}
	return out
}

// Steps returns the runbook steps for a fault on a device kind: the kind's
// own steps, else the default ones.
func (l *Language) Steps(code wire.FaultCode, kind string) string {
	ft := l.Faults[string(code)]
	if s := ft.Steps[kind]; s != "" {
		return s
	}
	return ft.Steps[DefaultStep]
}
