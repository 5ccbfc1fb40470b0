package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// TrimResidentText lets go of the pages of the agent's own binary that its
// read-only mappings (code and constant data) hold, so that only what the
// agent uses from now on comes back into its resident set.
//
// Why: after start-up the agent's binary counted about 9 MiB of its 14 MiB
// Pss at 50 devices (issue 20: at most 12 MiB), most of the 11 MB file,
// while a running agent uses a small part of it (the probe loop, the
// uplink, the runtime). Start-up touches the rest once (package
// initialisation, configuration, flag and YAML parsing, the first
// inventory), and the kernel's fault-around maps up to 64 KiB of the page
// cache around every page fault, so the pages stay mapped though never used
// again. MADV_DONTNEED on a read-only private file mapping only drops the
// page table entries: the pages stay in the page cache, and a page used
// again is mapped back on its next access (a minor fault, no disk read).
// It is never applied to a writable mapping, whose pages could hold the
// process's own changes.
//
// The page cache is the second half. The kernel maps back not only the
// page a fault needs but every neighbour the page cache holds (fault-around,
// up to 64 KiB, and whole large folios), so with the binary's file fully
// cached the resident set grew back to about 7.3 MiB of its pages within
// two minutes (issue 20: the working set is a fraction of that). So the
// mappings are also marked MADV_RANDOM (a fault reads one page, no
// read-around), and the file's cached pages that no process has mapped are
// dropped (POSIX_FADV_DONTNEED: clean pages of the agent's own binary,
// read again from disk if anyone needs them; pages another process maps
// stay). From then on what comes back is what runs.
//
// It returns how many bytes of mappings were trimmed.
func TrimResidentText() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("trim resident text: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("trim resident text: %w", err)
	}
	var trimmed int64
	for _, m := range readOnlyMappingsOf(maps, exe) {
		if err := madvise(m, unix.MADV_DONTNEED); err != nil {
			return trimmed, fmt.Errorf("trim resident text: %w", err)
		}
		trimmed += int64(m.end - m.start)
		if err := madvise(m, unix.MADV_RANDOM); err != nil {
			return trimmed, fmt.Errorf("trim resident text: %w", err)
		}
	}
	// /proc/self/exe opens the running binary even when its path has been
	// replaced since (an upgrade).
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return trimmed, fmt.Errorf("trim resident text: %w", err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return trimmed, fmt.Errorf("trim resident text: fadvise: %w", err)
	}
	return trimmed, nil
}

type mapping struct{ start, end uintptr }

// madvise gives the kernel advice on a mapping of the process (by address:
// unix.Madvise takes a slice, which a mapping of code is not).
func madvise(m mapping, advice int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, uintptr(advice)); errno != 0 {
		return fmt.Errorf("madvise %x-%x (%d): %w", m.start, m.end, advice, errno)
	}
	return nil
}

// readOnlyMappingsOf returns the mappings of file path in a
// /proc/self/maps listing that can be neither written nor shared: the
// binary's code and constant data ("r-xp", "r--p").
func readOnlyMappingsOf(maps []byte, path string) []mapping {
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// address perms offset dev inode pathname
		f := strings.Fields(sc.Text())
		if len(f) < 6 || strings.Join(f[5:], " ") != path {
			continue
		}
		if perms := f[1]; len(perms) != 4 || perms[1] != '-' || perms[3] != 'p' || perms[0] != 'r' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		out = append(out, mapping{uintptr(start), uintptr(end)})
	}
	return out
}
