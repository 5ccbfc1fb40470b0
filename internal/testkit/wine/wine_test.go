//go:build unix

package wine

import (
	"os"
	"reflect"
	"testing"
)

// A recorded session log: two processes, each with its event source,
// interleaved, one message over two lines, one announcement cut short.
func TestParseEventLog(t *testing.T) {
	log, err := os.ReadFile("testdata/session.log")
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Source: "storeagent", Type: "warning", ID: 2, Message: "no broker configured: events are only logged"},
		{Source: "storeagent", Type: "error", ID: 3, Message: "uplink stopped err=\"broker \\\"x\\\" refused\"\nsecond line"},
		{Source: "other", Type: "information", ID: 1, Message: "info from another source"},
	}
	if got := ParseEventLog(string(log)); !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%#v\nwant\n%#v", got, want)
	}
}

// Recorded output of Wine 8.0's reg.exe query, with its CRLF line ends.
func TestParseRegQuery(t *testing.T) {
	out := "\r\nHKEY_LOCAL_MACHINE\\Software\\StorewatchTest\r\n" +
		"    (Default)    REG_SZ    default value\r\n" +
		"    Empty    REG_SZ    \r\n" +
		"    Multi    REG_MULTI_SZ    A=1\\0B=2\r\n" +
		"    Start    REG_DWORD    0x2\r\n" +
		"    With Space    REG_EXPAND_SZ    %SystemRoot%\\x    y\r\n\r\n"
	want := map[string]RegValue{
		"(Default)":  {"REG_SZ", "default value"},
		"Empty":      {"REG_SZ", ""},
		"Multi":      {"REG_MULTI_SZ", `A=1\0B=2`},
		"Start":      {"REG_DWORD", "0x2"},
		"With Space": {"REG_EXPAND_SZ", `%SystemRoot%\x    y`},
	}
	if got := ParseRegQuery(out); !reflect.DeepEqual(got, want) {
		t.Errorf("values:\n%v\nwant\n%v", got, want)
	}
}

// reg.exe query /s: every key below, with its values.
func TestParseRegQueryTree(t *testing.T) {
	out := "\r\nHKEY_LOCAL_MACHINE\\Software\\A\r\n    V    REG_SZ    1\r\n\r\n" +
		"HKEY_LOCAL_MACHINE\\Software\\A\\B\r\n    DisplayName    REG_SZ    storewatch store agent\r\n\r\n" +
		"HKEY_LOCAL_MACHINE\\Software\\A\\C\r\n\r\n"
	want := map[string]map[string]RegValue{
		`HKEY_LOCAL_MACHINE\Software\A`:   {"V": {"REG_SZ", "1"}},
		`HKEY_LOCAL_MACHINE\Software\A\B`: {"DisplayName": {"REG_SZ", "storewatch store agent"}},
		`HKEY_LOCAL_MACHINE\Software\A\C`: {},
	}
	if got := ParseRegQueryTree(out); !reflect.DeepEqual(got, want) {
		t.Errorf("tree:\n%v\nwant\n%v", got, want)
	}
}

func FuzzParseEventLog(f *testing.F) {
	log, _ := os.ReadFile("testdata/session.log")
	f.Add(string(log))
	f.Add("1:2:fixme:advapi:ReportEventW (")
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range ParseEventLog(s) {
			if e.Type == "" {
				t.Errorf("event without a type: %+v", e)
			}
		}
	})
}

func FuzzParseRegQuery(f *testing.F) {
	f.Add("HKLM\\X\r\n    A    REG_SZ    b\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, values := range ParseRegQueryTree(s) {
			for name, v := range values {
				if len(v.Type) < 4 || v.Type[:4] != "REG_" {
					t.Errorf("value %q has type %q", name, v.Type)
				}
			}
		}
	})
}
