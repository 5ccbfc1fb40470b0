//go:build windows

package testenv

import "os/exec"

// owner: on Windows PostgreSQL runs as the tests' own user.
type owner struct{}

func pgOwner() (*owner, error)    { return nil, nil }
func (*owner) chown(string) error { return nil }
func (*owner) apply(*exec.Cmd)    {}
