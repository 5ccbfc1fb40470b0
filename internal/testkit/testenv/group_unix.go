//go:build unix

package testenv

import (
	"os"
	"os/exec"
	"syscall"
)

// setGroup starts the child in its own process group, so that signals reach
// everything it starts too.
// It keeps the rest of cmd's attributes (credentials, for one).
func setGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

func signalGroup(p *os.Process, sig syscall.Signal) { _ = syscall.Kill(-p.Pid, sig) }
