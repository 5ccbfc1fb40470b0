package helpdesk

import (
	"slices"
	"strings"
	"sync"
)

// Settings are one helpdesk's settings of a connector type: the section
// named after the type (redmine:, webhook:, email:), decoded into the
// type's own struct. Each connector package defines them, with its code, in
// a folder of its own (hub/helpdesk/redmine, ...) and registers its type.
type Settings interface {
	// Validate applies the defaults and reports every mistake through bad,
	// with paths relative to the settings' section (url, statuses.closed).
	Validate(bad func(path, format string, args ...any))
	// CheckTarget reports what is wrong with a routing target that sends to
	// this helpdesk (a project or an assignee group it cannot take), with
	// paths relative to the target (project, assignee_group).
	CheckTarget(t Target, bad func(path, format string, args ...any))
	// Connector builds the connector from the validated settings.
	Connector() (Connector, error)
}

// Info describes a registered connector type.
type Info struct {
	// Name is the helpdesk's type in the configuration and the name of the
	// section its settings are in: "redmine".
	Name        string
	Description string
	// Settings returns new, empty settings (a pointer) to decode into.
	Settings func() Settings
}

var (
	regMu    sync.RWMutex
	registry = map[string]Info{}
)

// Register adds a connector type; a connector package calls it from init.
// It panics on a duplicate or incomplete registration, which can only be a
// programming error.
func Register(info Info) {
	regMu.Lock()
	defer regMu.Unlock()
	if info.Name == "" || info.Settings == nil {
		panic("helpdesk: Register needs a name and a Settings function")
	}
	if info.Name == None || info.Name == "name" || info.Name == "type" {
		panic("helpdesk: connector type " + info.Name + " would clash with a helpdesk's own settings")
	}
	if _, dup := registry[info.Name]; dup {
		panic("helpdesk: connector type " + info.Name + " registered twice")
	}
	registry[info.Name] = info
}

// Lookup returns a registered connector type.
func Lookup(name string) (Info, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	i, ok := registry[name]
	return i, ok
}

// Types returns the names of the registered connector types, sorted.
func Types() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for name := range registry {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// oneOf says "a, b or c".
func oneOf(names []string) string {
	switch len(names) {
	case 0:
		return "(none in this build)"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
