package tickets

import (
	"strings"
	"testing"
	"text/template"
)

func TestParseLanguageMistakes(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown code", "faults:\n  paper_outt:\n    title: x\n", "x.yaml:2: faults.paper_outt: unknown fault code"},
		{"unknown kind in steps", "faults:\n  paper_out:\n    steps:\n      toaster: x\n", "x.yaml:4: faults.paper_out.steps.toaster: unknown device kind"},
		{"empty step", "faults:\n  paper_out:\n    steps:\n      default: \"  \"\n", "faults.paper_out.steps.default: empty step"},
		{"unknown kind", "kinds:\n  toaster: Toaster\n", "x.yaml:2: kinds.toaster: unknown device kind"},
		{"unknown remedy", "remedies:\n  pray: hope\n", "remedies.pray: unknown remedy class"},
		{"bad priority", "priorities:\n  9: urgent\n", "priorities.9: priorities run from 1"},
		{"unknown setting", "name: x\ncolour: red\n", "field colour not found"},
		{"not a mapping", "- a\n- b\n", "the file must be a mapping"},
		{"bad yaml", "faults: [\n", "not valid YAML"},
	} {
		_, err := ParseLanguage("x.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if l, err := ParseLanguage("empty.yaml", nil); err != nil || len(l.Faults) != 0 {
		t.Errorf("an empty override: %v", err)
	}
}

func TestParseTemplatesMistakes(t *testing.T) {
	set := template.New("x").Funcs(funcs)
	for _, tc := range []struct{ name, text, want string }{
		{"text outside define", "Hello {{.Store}}", "text outside"},
		{"unknown function", `{{define "a"}}{{shout .Store}}{{end}}`, "function \"shout\" not defined"},
		{"unclosed", `{{define "a"}}{{if .Store}}`, "unexpected EOF"},
	} {
		if err := ParseTemplates(set, "t.tmpl", []byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
