//go:build unix

package simtest

import "syscall"

// noControllingTerminal keeps the PTY from becoming the test process's
// controlling terminal, as a serial port opened by a driver does not.
const noControllingTerminal = syscall.O_NOCTTY
