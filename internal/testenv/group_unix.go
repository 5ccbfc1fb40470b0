//go:build unix

package testenv

import (
	"os"
	"os/exec"
	"syscall"
)

// setGroup starts the child in its own process group, so that signals reach
// everything it starts too.
func setGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func signalGroup(p *os.Process, sig syscall.Signal) { _ = syscall.Kill(-p.Pid, sig) }
