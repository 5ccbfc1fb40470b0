package tickets

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"text/template"
)

func seedFiles(f *testing.F, suffix string) {
	f.Helper()
	_ = fs.WalkDir(shipped, "content", func(path string, d fs.DirEntry, err error) error {
		if err == nil && filepath.Ext(path) == suffix {
			data, _ := fs.ReadFile(shipped, path)
			f.Add(data)
		}
		return nil
	})
	_ = filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && filepath.Ext(path) == suffix {
			data, _ := os.ReadFile(path)
			f.Add(data)
		}
		return nil
	})
}

// FuzzParseLanguage: any bytes give a language or an error, never a panic;
// a parsed language can be merged and asked what it lacks.
func FuzzParseLanguage(f *testing.F) {
	seedFiles(f, ".yaml")
	f.Add([]byte("faults:\n  paper_out:\n    steps: {default: x, scale: y}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLanguage("fuzz.yaml", data)
		if err != nil {
			return
		}
		base := &Language{}
		base.merge(l)
		_ = base.Missing()
	})
}

// FuzzParseTemplates: an operator's template file either parses or gives an
// error; one that parses executes against a real view without a panic.
func FuzzParseTemplates(f *testing.F) {
	seedFiles(f, ".tmpl")
	f.Add([]byte(`{{define "opened.title"}}{{.Identity.Serial}}{{end}}`))
	c, err := Load(Config{})
	if err != nil {
		f.Fatal(err)
	}
	view := c.view(Opened, sample(), "en", c.langs["en"].text)
	f.Fuzz(func(t *testing.T, data []byte) {
		set := template.New("fuzz").Funcs(funcs)
		if err := ParseTemplates(set, "fuzz.tmpl", data); err != nil {
			return
		}
		for _, tm := range set.Templates() {
			_ = tm.Execute(io.Discard, view)
		}
	})
}
