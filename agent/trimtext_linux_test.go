package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
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

// The binary's file pages that no process maps leave the page cache too,
// and its mappings read no neighbours from then on: otherwise fault-around
// maps them all back within minutes (issue 20: 7.3 of 12.1 MiB of Pss).
func TestTrimResidentTextDropsTheBinarysUnmappedCachedPages(t *testing.T) {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, f); err != nil { // the whole file in the page cache
		t.Fatal(err)
	}
	before := cachedPages(t, f, st.Size())
	if _, err := TrimResidentText(); err != nil {
		t.Fatal(err)
	}
	after := cachedPages(t, f, st.Size())
	pages := (st.Size() + int64(os.Getpagesize()) - 1) / int64(os.Getpagesize())
	t.Logf("the test binary's pages in the page cache: %d of %d before, %d after", before, pages, after)
	if after >= before {
		t.Errorf("pages in the page cache: %d before, %d after", before, after)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	for _, m := range readOnlyMappingsOf(smaps, exe) {
		if flags := vmFlagsOf(smaps, m); !slices.Contains(flags, "rr") {
			t.Errorf("mapping %x-%x: VmFlags %v, want rr (random read)", m.start, m.end, flags)
		}
	}
}

// cachedPages counts the pages of f in the page cache (mincore on a fresh
// mapping of it: residency of a file mapping is the page cache's).
func cachedPages(t *testing.T, f *os.File, size int64) int {
	t.Helper()
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	vec := make([]byte, (len(b)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// vmFlagsOf returns the VmFlags of mapping m in an smaps listing.
func vmFlagsOf(smaps []byte, m mapping) []string {
	head := fmt.Sprintf("%08x-%08x ", m.start, m.end) // as the kernel writes them
	in := false
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, head):
			in = true
		case in && strings.HasPrefix(line, "VmFlags:"):
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	return nil
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
