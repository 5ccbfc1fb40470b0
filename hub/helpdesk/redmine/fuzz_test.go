package redmine

import (
	"os"
	"path/filepath"
	"testing"
)

func seedRedmine(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte(`{"issue":{"id":-1}}`))
	f.Add([]byte(`{"issues":[{"id":1,"custom_fields":[{"id":1,"value":{"x":1}}]}]}`))
}

// FuzzRedmineResponses: whatever a Redmine (or something in its place)
// answers gives an issue, a list or an error; never a panic.
func FuzzRedmineResponses(f *testing.F) {
	seedRedmine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if is, err := parseRedmineIssue(data); err == nil {
			if is.ID <= 0 {
				t.Fatalf("accepted issue id %d", is.ID)
			}
			for _, v := range is.CustomFields {
				_ = v.values()
			}
		}
		if list, err := parseRedmineIssues(data); err == nil {
			for _, is := range list {
				if is.ID <= 0 {
					t.Fatalf("accepted issue id %d", is.ID)
				}
				for _, v := range is.CustomFields {
					_ = v.values()
				}
			}
		}
		_ = parseRedmineErrors(data)
	})
}
