package agent

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestReadOnlyMappingsOfTheBinary(t *testing.T) {
	maps := []byte(`00400000-00b1d000 r-xp 00000000 fd:01 1234 /usr/bin/storeagent
00b1d000-01000000 r--p 0071d000 fd:01 1234 /usr/bin/storeagent
01000000-0103a000 rw-p 00c00000 fd:01 1234 /usr/bin/storeagent
0103a000-01080000 rw-p 00000000 00:00 0
7f0000000000-7f0000001000 r--p 00000000 fd:01 99 /usr/lib/other.so
7f0000002000-7f0000003000 r--s 00000000 fd:01 1234 /usr/bin/storeagent
7f0000004000-7f0000005000 r-xp 00000000 fd:01 77 /opt/store agent/storeagent
`)
	for _, tc := range []struct {
		path string
		want []mapping
	}{
		// Code and constant data; not the data segment (written), not a
		// shared mapping, not another file.
		{"/usr/bin/storeagent", []mapping{{0x400000, 0xb1d000}, {0xb1d000, 0x1000000}}},
		{"/opt/store agent/storeagent", []mapping{{0x7f0000004000, 0x7f0000005000}}}, // a path with a space
		{"/usr/bin/missing", nil},
	} {
		got := readOnlyMappingsOf(maps, tc.path)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %+v, want %+v", tc.path, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %+v, want %+v", tc.path, got, tc.want)
			}
		}
	}
}

// The binary's read-only pages leave the resident set, and the process
// runs on (what it uses is mapped back).
func TestTrimResidentTextLetsGoOfTheBinarysPages(t *testing.T) {
	before := binaryRss(t)
	n, err := TrimResidentText()
	if err != nil || n == 0 {
		t.Fatalf("trimmed %d bytes: %v", n, err)
	}
	after := binaryRss(t)
	if after >= before {
		t.Errorf("the binary's resident read-only pages: %d kB before, %d kB after", before, after)
	}
	t.Logf("the test binary's resident read-only pages: %d kB before, %d kB after", before, after)
}

// binaryRss is the resident kB of the running binary's read-only mappings.
func binaryRss(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	total, in := 0, false
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 6 && strings.Contains(f[0], "-"):
			in = strings.Join(f[5:], " ") == exe && !strings.Contains(f[1], "w")
		case len(f) == 3 && f[0] == "Rss:" && in:
			kb, _ := strconv.Atoi(f[1])
			total += kb
		}
	}
	return total
}

// Whatever the listing holds, only whole read-only private mappings of the
// path come back, with a start below their end.
func FuzzReadOnlyMappingsOf(f *testing.F) {
	f.Add([]byte("00400000-00b1d000 r-xp 00000000 fd:01 1234 /usr/bin/storeagent\n01000000-0103a000 rw-p 00c00000 fd:01 1234 /usr/bin/storeagent\n"), "/usr/bin/storeagent")
	f.Add([]byte("zz-yy r--p 0 0 0 /a\n10-5 r--p 0 0 0 /a\n-1 r--p 0 0 0 /a b\n"), "/a")
	f.Fuzz(func(t *testing.T, maps []byte, path string) {
		for _, m := range readOnlyMappingsOf(maps, path) {
			if m.end <= m.start {
				t.Fatalf("mapping %x-%x ends before it starts", m.start, m.end)
			}
		}
	})
}
