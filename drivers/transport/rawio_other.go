//go:build !linux

package transport

import "syscall"

// rawIO is Linux's (rawio_linux.go); elsewhere connections read and write
// through their own methods.
type rawIO struct{}

func newRawIO(syscall.Conn) *rawIO { return nil }

func (*rawIO) read([]byte) (int, error)  { panic("unreachable") }
func (*rawIO) write([]byte) (int, error) { panic("unreachable") }
