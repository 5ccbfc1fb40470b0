//go:build unix

package wine

import (
	"strings"
	"testing"
)

const goTestOutput = "=== RUN   TestA\r\n--- PASS: TestA (0.00s)\r\n" +
	"=== RUN   TestB\r\n    testing.go:1231: TempDir RemoveAll cleanup: unlinkat C:\\x\\TestB1: Invalid function.\r\n--- FAIL: TestB (0.01s)\r\n" +
	"=== RUN   TestC\r\n    c_test.go:12: got 1, want 2\r\n    testing.go:1231: TempDir RemoveAll cleanup: unlinkat C:\\x\\TestC1: Invalid function.\r\n--- FAIL: TestC (0.01s)\r\n" +
	"=== RUN   TestD\r\n--- FAIL: TestD (0.00s)\r\nFAIL\r\n"

func TestPassedUnderWine(t *testing.T) {
	got := PassedUnderWine(goTestOutput)
	want := map[string]bool{"TestA": true, "TestB": true, "TestC": false, "TestD": false}
	if len(got) != len(want) {
		t.Fatalf("PassedUnderWine = %v, want %v", got, want)
	}
	for name, ok := range want {
		if got[name] != ok {
			t.Errorf("%s: passed %v, want %v", name, got[name], ok)
		}
	}
}

// FuzzPassedUnderWine: any output, truncated lines included, is read
// without a panic, and only names from result lines come back.
func FuzzPassedUnderWine(f *testing.F) {
	f.Add(goTestOutput)
	f.Add("--- PASS: \n--- FAIL:")
	f.Fuzz(func(t *testing.T, out string) {
		for name := range PassedUnderWine(out) {
			if name == "" || !strings.Contains(out, name) {
				t.Fatalf("test name %q is not in the output", name)
			}
		}
	})
}
