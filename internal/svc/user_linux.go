//go:build linux

package svc

import (
	"fmt"
	"os/exec"
	"os/user"
	"strings"
)

// beforeInstall creates the service account the unit runs as, as the deb and
// rpm maintainer scripts do, when `install` is used without a package.
func beforeInstall(spec Spec) error {
	if spec.User == "" {
		return nil
	}
	if _, err := user.Lookup(spec.User); err == nil {
		return nil
	}
	args := []string{"--system", "--user-group", "--no-create-home", "--home-dir", "/var/lib/" + spec.StateDir, "--shell", "/usr/sbin/nologin"}
	var groups []string
	for _, g := range spec.Groups {
		if _, err := user.LookupGroup(g); err == nil {
			groups = append(groups, g)
		}
	}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	args = append(args, spec.User)
	if out, err := exec.Command("useradd", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("create user %s: %v: %s", spec.User, err, strings.TrimSpace(string(out)))
	}
	return nil
}
