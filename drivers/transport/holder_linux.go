package transport

import (
	"os"
	"strconv"
	"strings"
)

// openedBy returns the pid of another process that has the device open,
// found by reading every /proc/PID/fd link: the operating system's own
// answer to "who uses this port". An agent that is not root sees only the
// processes of its own user; lock files still name the others.
func openedBy(device string) int {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		dir := "/proc/" + p.Name() + "/fd/"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if target, err := os.Readlink(dir + fd.Name()); err == nil && target == device {
				return pid
			}
		}
	}
	return 0
}

// processName is the program's name as the kernel keeps it (at most 15
// characters), or "" when the process is gone or hidden.
func processName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
