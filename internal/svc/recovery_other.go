//go:build !windows

package svc

// afterInstall has nothing to add outside Windows: the systemd unit already
// says Restart=on-failure.
func afterInstall(Spec) ([]string, error) { return nil, nil }
