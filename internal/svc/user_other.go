//go:build !linux

package svc

// beforeInstall has nothing to prepare outside Linux: the Windows service runs
// as LocalSystem.
func beforeInstall(Spec) error { return nil }
