package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/cli"
)

// settable are the settings `config set` changes, and whether each is a
// list: what differs from store to store and what an installer sets (the
// MSI's HUBURL, TENANT, STORE and AGENT properties, packaging/README.md).
var settable = map[string]bool{
	"tenant":          false,
	"store":           false,
	"agent":           false,
	"site.name":       false,
	"site.timezone":   false,
	"broker.urls":     true, // comma-separated
	"broker.username": false,
	// What storeagent enroll writes.
	"broker.password_file":  false,
	"broker.ca_file":        false,
	"remote.hub_public_key": false,
}

// configSet changes settings in a configuration file and keeps the rest
// of it, comments included. The changed file must pass config check, else
// the file is left as it was. An empty value leaves its setting as it is,
// so that an installer can pass every property it has, given or not.
func configSet(args []string, stdout, stderr io.Writer) int {
	fs := program.Flags("config set", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: storeagent config set FILE SETTING=VALUE...")
		fmt.Fprintf(stderr, "settings: %s (broker.urls: comma-separated)\n", strings.Join(settableNames(), ", "))
	}
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return cli.ExitUsage
	}
	file := fs.Arg(0)
	var changes []assignment
	for _, a := range fs.Args()[1:] {
		c, err := parseAssignment(a)
		if err != nil {
			fmt.Fprintf(stderr, "storeagent config set: %v\n", err)
			return cli.ExitUsage
		}
		if c.value != "" {
			changes = append(changes, c)
		}
	}
	if len(changes) == 0 {
		fmt.Fprintf(stdout, "%s: nothing to change\n", file)
		return cli.ExitOK
	}
	old, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "storeagent config set: %v\n", err)
		return cli.ExitFailed
	}
	edited, err := setSettings(old, changes)
	if err != nil {
		fmt.Fprintf(stderr, "storeagent config set: %s: %v\n", file, err)
		return cli.ExitUsage
	}

	if err := replaceChecked(file, edited); err != nil {
		var ce *checkError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "storeagent config set: %s left as it was; with these settings it would not check:\n%s", file, ce.out)
			return cli.ExitUsage
		}
		fmt.Fprintf(stderr, "storeagent config set: %v\n", err)
		return cli.ExitFailed
	}
	for _, c := range changes {
		fmt.Fprintf(stdout, "%s: %s = %s\n", file, c.key, c.value)
	}
	return cli.ExitOK
}

// checkError is a configuration that would not check; out is what
// config check says about it.
type checkError struct{ out string }

func (e *checkError) Error() string { return "the configuration would not check:\n" + e.out }

// replaceChecked puts edited in place of file if it checks where it will
// live (relative paths in it mean the same), in one step, keeping the
// file's mode; otherwise file stays as it was.
func replaceChecked(file string, edited []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".agent-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(edited)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	var check bytes.Buffer
	if _, _, ok := load(tmp.Name(), &check); !ok {
		return &checkError{strings.ReplaceAll(check.String(), tmp.Name(), file)}
	}
	return os.Rename(tmp.Name(), file)
}

type assignment struct{ key, value string }

func parseAssignment(s string) (assignment, error) {
	key, value, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return assignment{}, fmt.Errorf("%q: want SETTING=VALUE", s)
	}
	if _, ok := settable[key]; !ok {
		return assignment{}, fmt.Errorf("%q cannot be set this way (settable: %s); edit the file", key, strings.Join(settableNames(), ", "))
	}
	if strings.ContainsAny(value, "\r\n") {
		return assignment{}, fmt.Errorf("%s: a value is one line", key)
	}
	value = strings.TrimSpace(value)
	if settable[key] && value != "" && strings.Trim(value, ", \t") == "" {
		return assignment{}, fmt.Errorf("%s: %q lists nothing", key, value)
	}
	return assignment{key: key, value: value}, nil
}

func settableNames() []string {
	names := make([]string, 0, len(settable))
	for k := range settable {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// setSettings applies changes to a YAML document, creating the sections
// they need.
func setSettings(doc []byte, changes []assignment) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 { // an empty file
		root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the file is not a mapping of settings")
	}
	for _, c := range changes {
		m := root.Content[0]
		path := strings.Split(c.key, ".")
		for _, section := range path[:len(path)-1] {
			v := lookup(m, section)
			if v == nil || (v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				if v == nil {
					v = &yaml.Node{}
					m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section}, v)
				}
				*v = yaml.Node{Kind: yaml.MappingNode}
			}
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("line %d: %s is not a section", v.Line, section)
			}
			m = v
		}
		value := scalar(c.value)
		if settable[c.key] {
			value = &yaml.Node{Kind: yaml.SequenceNode}
			for _, item := range strings.Split(c.value, ",") {
				if item = strings.TrimSpace(item); item != "" {
					value.Content = append(value.Content, scalar(item))
				}
			}
		}
		name := path[len(path)-1]
		if v := lookup(m, name); v != nil {
			// Keep the comments around the old value.
			value.HeadComment, value.LineComment, value.FootComment = v.HeadComment, v.LineComment, v.FootComment
			*v = *value
		} else {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, value)
		}
	}
	return config.EncodeYAML(&root)
}

// lookup returns the value of key in a mapping node, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// scalar is a string value, quoted when YAML would read it as something
// else (a number, yes/no, a date).
func scalar(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	var probe any
	if err := yaml.Unmarshal([]byte(s), &probe); err != nil || fmt.Sprint(probe) != s {
		n.Style = yaml.SingleQuotedStyle
	} else if _, isString := probe.(string); !isString {
		n.Style = yaml.SingleQuotedStyle
	}
	return n
}
