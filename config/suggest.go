package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Nearest returns the known name closest to a mistyped one, if one is close
// enough to be the one meant ("intervall" → "interval"): at most a third of
// the name's letters apart, and at least one. "" when none is.
func Nearest(name string, known []string) string {
	best, bestD := "", len(name)/3+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), k); d < bestD || d == bestD && best != "" && k < best {
			best, bestD = k, d
		}
	}
	if best == "" || best == name {
		return ""
	}
	return best
}

// didYouMean is the hint an unknown-setting message ends with.
func didYouMean(name string, known []string) string {
	if n := Nearest(name, known); n != "" {
		return fmt.Sprintf("; did you mean %s?", n)
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b (in runes), with a
// swap of two neighbours counting as one (optimal string alignment).
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

// fieldNames lists the settings a struct type has.
func fieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	m := map[string]reflect.Type{}
	yamlFields(t, m)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// typesByName finds the struct types of the configuration by their Go
// names (Polling, Device), for the YAML decoder's messages, which name the
// type and not the path.
func typesByName(roots ...reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || out[t.Name()] != nil {
			return
		}
		out[t.Name()] = t
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

// The top-level settings only one program's file has: what tells an agent
// configuration from a hub configuration (broker, log, remote and store are
// in both).
var (
	agentOnly = []string{"tenant", "agent", "site", "outbox", "polling", "devices", "host", "telemetry"}
	hubOnly   = []string{"data_dir", "log_retention", "memory_limit", "api", "agents", "policy", "sla", "tickets", "helpdesk"}
)

// OtherProgram reports whether a file that should be program's ("storeagent"
// or "storehub") is the other program's configuration: it has at least two
// settings only the other's files have and none only program's have. It
// returns the other program and the settings that gave it away.
func OtherProgram(data []byte, program string) (other string, giveaway []string) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", nil
	}
	mine, theirs, other := agentOnly, hubOnly, "storehub"
	if program == "storehub" {
		mine, theirs, other = hubOnly, agentOnly, "storeagent"
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i].Value
		switch {
		case slices.Contains(mine, k):
			return "", nil
		case slices.Contains(theirs, k):
			giveaway = append(giveaway, k)
		}
	}
	if len(giveaway) < 2 {
		return "", nil
	}
	return other, giveaway
}

// otherProgramError is the one mistake a file of the other program is.
func otherProgramError(file string, data []byte, program string) Errors {
	other, keys := OtherProgram(data, program)
	if other == "" {
		return nil
	}
	what := map[string]string{"storehub": "a storehub (hub) configuration", "storeagent": "a storeagent (store agent) configuration"}
	return Errors{{File: file, Msg: fmt.Sprintf("this is %s, not a %s one (it has %s): check it with `%s config check %s`",
		what[other], program, strings.Join(keys, ", "), other, file)}}
}

// configTypes are the struct types of both files by Go name.
var configTypes = typesByName(reflect.TypeFor[Agent](), reflect.TypeFor[Hub]())
