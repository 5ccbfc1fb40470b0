package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
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
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno != 0 {
			return trimmed, fmt.Errorf("trim resident text: madvise %x-%x: %w", m.start, m.end, errno)
		}
		trimmed += int64(m.end - m.start)
	}
	return trimmed, nil
}

type mapping struct{ start, end uintptr }

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
