package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Section is a part of the hub's file whose settings another package
// defines and checks (tickets:, helpdesk:). Those packages use this one for
// their errors, so this one cannot name their types: it keeps the YAML as
// written, and the package that owns the section decodes it with Decode and
// places its own findings in the file with Errors.
type Section struct {
	path   string
	node   *yaml.Node
	lines  *Lines
	lookup func(string) (string, bool)
}

// UnmarshalYAML keeps the section's YAML for Decode.
func (s *Section) UnmarshalYAML(n *yaml.Node) error {
	s.node = n
	return nil
}

func (s *Section) bind(path string, lines *Lines, lookup func(string) (string, bool)) {
	s.path, s.lines, s.lookup = path, lines, lookup
}

// Given reports whether the file has the section (and it is not empty).
func (s Section) Given() bool {
	return s.node != nil && s.node.Tag != "!!null" && !(s.node.Kind == yaml.MappingNode && len(s.node.Content) == 0)
}

// Decode reads the section into out, a pointer to the owner's struct, as
// strictly as the rest of the file: an unknown setting or a value of the
// wrong type is an error at its line, and settings written ${NAME} are
// taken from the environment. A section not given leaves out as it is.
func (s Section) Decode(out any) Errors {
	if !s.Given() {
		return nil
	}
	file := ""
	if s.lines != nil {
		file = s.lines.file
	}
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return Errors{{File: file, Path: s.path, Msg: fmt.Sprintf("cannot decode into %T", out)}}
	}
	if v.Elem().Kind() == reflect.Struct && s.node.Kind != yaml.MappingNode {
		return Errors{{File: file, Line: s.node.Line, Path: s.path, Msg: "must be a section of key: value settings"}}
	}
	errs := unknownSettings(s.node, v.Type().Elem(), s.path, file)
	if err := s.node.Decode(out); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return append(errs, Error{File: file, Line: s.node.Line, Path: s.path, Msg: err.Error()})
		}
		for _, msg := range te.Errors {
			e := typeError(file, msg)
			if e.Path == "" {
				e.Path = s.path
			}
			errs = append(errs, e)
		}
	}
	if s.lines != nil && s.lookup != nil {
		errs = append(errs, expandEnv(v.Elem(), s.path, s.lines, s.lookup)...)
	}
	return errs
}

// Errors places the owner's findings, whose paths are relative to the
// section (helpdesks[0].redmine.url; [0].tenant in a list), in the file:
// full path and line.
func (s Section) Errors(found Errors) Errors {
	if len(found) == 0 {
		return nil
	}
	out := make(Errors, 0, len(found))
	for _, e := range found {
		p := s.path
		switch {
		case strings.HasPrefix(e.Path, "["): // an entry of a section that is a list
			p += e.Path
		case e.Path != "":
			p += "." + e.Path
		}
		if s.lines != nil {
			out = append(out, s.lines.Error(p, "%s", e.Msg))
		} else {
			out = append(out, Error{Path: p, Msg: e.Msg})
		}
	}
	return out
}

// ExpandEnv takes the settings of v (a pointer to the owner's struct) that
// are written ${NAME} from the environment, as Decode does for what it
// decodes. It is for settings a part of the section decoded itself (see
// DecodeNode); path is where they sit, relative to the section
// (helpdesks[0].redmine), for the errors' lines.
func (s Section) ExpandEnv(v any, path string) Errors {
	if s.lines == nil || s.lookup == nil {
		return nil
	}
	if path != "" {
		path = s.path + "." + path
	} else {
		path = s.path
	}
	return expandEnv(reflect.ValueOf(v), path, s.lines, s.lookup)
}

// DecodeNode decodes one YAML node into out (a pointer) as strictly as
// Section.Decode does: a setting out has no field for is an error, as is a
// value of the wrong type. It is for a part of a section that decodes
// itself (yaml.Unmarshaler), because which Go type its settings have
// depends on another setting: a helpdesk's type chooses its connector's
// settings. name says where the settings are, in messages. The error is a
// *yaml.TypeError whose lines the YAML decoder and Section.Decode report
// like their own.
func DecodeNode(n *yaml.Node, out any, name string) error {
	var msgs []string
	for _, e := range unknownSettings(n, reflect.TypeOf(out), name, "") {
		msgs = append(msgs, fmt.Sprintf("line %d: %s", e.Line, e.Msg))
	}
	if err := n.Decode(out); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return err
		}
		msgs = append(msgs, te.Errors...)
	}
	if len(msgs) > 0 {
		return &yaml.TypeError{Errors: msgs}
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// unknownSettings walks the YAML against the Go type and reports keys the
// type has no field for (yaml.Node.Decode would ignore them silently).
// Aliases are not followed: what they point at is checked where it is
// written, and following them could loop or multiply (billion laughs). A
// type that decodes itself (yaml.Unmarshaler) checks its own settings.
func unknownSettings(n *yaml.Node, t reflect.Type, path, file string) Errors {
	if n.Kind == yaml.AliasNode {
		return nil
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var errs Errors
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		yamlFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				errs = append(errs, Error{File: file, Line: k.Line, Path: path, Msg: fmt.Sprintf(
					"unknown setting %q (in %s)%s", k.Value, path[strings.LastIndexByte(path, '.')+1:], didYouMean(k.Value, fieldNames(t)))})
				continue
			}
			errs = append(errs, unknownSettings(v, ft, path+"."+k.Value, file)...)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, unknownSettings(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value, file)...)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, unknownSettings(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), file)...)
		}
	}
	return errs
}

// yamlFields lists a struct's YAML keys, with those of ",inline" fields.
func yamlFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if _, opts, _ := strings.Cut(tag, ","); strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				yamlFields(ft, out)
			}
			continue
		}
		if name := yamlName(f); name != "" {
			out[name] = f.Type
		}
	}
}
