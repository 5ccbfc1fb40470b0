//go:build windows

package svc

import (
	"fmt"

	"golang.org/x/sys/windows/svc/mgr"
)

// afterInstall makes the service manager restart the service also when it
// exits cleanly with a non-zero code (a fatal error we report rather than
// crash on); kardianos sets recovery actions for crashes only.
func afterInstall(spec Spec) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("recovery actions: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(spec.Name)
	if err != nil {
		return fmt.Errorf("recovery actions: %w", err)
	}
	defer s.Close()
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("recovery actions on non-crash failures: %w", err)
	}
	return nil
}
