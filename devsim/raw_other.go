//go:build !(linux || darwin || freebsd)

package devsim

import "os"

// makeRaw is a no-op where there are no PTYs; ServePTY fails earlier there.
func makeRaw(*os.File) error { return nil }

func pollable(f *os.File) (*os.File, error) { return f, nil }
