//go:build !(linux || darwin || freebsd)

package ptyline

import "os"

// MakeRaw is a no-op where there are no PTYs; Open fails earlier there.
func MakeRaw(*os.File) error { return nil }

func Pollable(f *os.File) (*os.File, error) { return f, nil }
