//go:build windows

package testenv

import (
	"os"
	"os/exec"
	"syscall"
)

func setGroup(*exec.Cmd) {}

// signalGroup can only end the process on Windows.
func signalGroup(p *os.Process, _ syscall.Signal) { _ = p.Kill() }
