//go:build windows

package svc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// afterInstall sets WindowsRecovery on the service kardianos has just
// registered, one setting at a time, and reads each back. A setting the
// service manager refuses or cannot show back leaves the service installed
// and is reported in the notes: the service still runs, only without that
// setting, and the administrator is told what to check. (Wine's service
// manager, which CI runs the service under, keeps none of the three; see
// README.md.)
func afterInstall(spec Spec) (notes []string, err error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("recovery actions: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(spec.Name)
	if err != nil {
		return nil, fmt.Errorf("recovery actions: %w", err)
	}
	defer s.Close()
	r := WindowsRecovery
	note := func(what string, err error) {
		notes = append(notes, fmt.Sprintf("%s (%s); check with sc qfailure %s and sc qc %s",
			what, strings.TrimSuffix(err.Error(), "."), spec.Name, spec.Name))
	}

	if err := setRestarts(s, r); err != nil {
		note("restart on failure not set", err)
	} else if err := checkRestarts(s, r); err != nil {
		note("restart on failure set but not confirmed", err)
	}
	if r.NonCrashFailures {
		if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
			note("restart after an exit with an error code not set", err)
		} else if on, err := s.RecoveryActionsOnNonCrashFailures(); err != nil || !on {
			note("restart after an exit with an error code set but not confirmed", orMismatch(err))
		}
	}
	if r.DelayedStart {
		if err := setDelayedStart(s); err != nil {
			note("delayed start not set (the service starts with the others at boot)", err)
		} else if on, err := delayedStart(s); err != nil || !on {
			note("delayed start set but not confirmed", orMismatch(err))
		}
	}
	return notes, nil
}

func orMismatch(err error) error {
	if err != nil {
		return err
	}
	return errors.New("the service manager reports it off")
}

func setRestarts(s *mgr.Service, r Recovery) error {
	actions := make([]mgr.RecoveryAction, len(r.Restarts))
	for i, d := range r.Restarts {
		actions[i] = mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d}
	}
	return s.SetRecoveryActions(actions, uint32(r.ResetAfter/time.Second))
}

func checkRestarts(s *mgr.Service, r Recovery) error {
	got, err := s.RecoveryActions()
	if err != nil {
		return err
	}
	var delays []time.Duration
	for _, a := range got {
		if a.Type != mgr.ServiceRestart {
			return fmt.Errorf("the service manager reports action %d, not a restart", a.Type)
		}
		delays = append(delays, a.Delay)
	}
	if !slices.Equal(delays, r.Restarts) {
		return fmt.Errorf("the service manager reports restarts after %v, want %v", delays, r.Restarts)
	}
	reset, err := s.ResetPeriod()
	if err != nil {
		return err
	}
	if time.Duration(reset)*time.Second != r.ResetAfter {
		return fmt.Errorf("the service manager forgets failures after %ds, want %v", reset, r.ResetAfter)
	}
	return nil
}

func setDelayedStart(s *mgr.Service) error {
	info := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	return windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info)))
}

func delayedStart(s *mgr.Service) (bool, error) {
	var info windows.SERVICE_DELAYED_AUTO_START_INFO
	var n uint32
	if err := windows.QueryServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
		(*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), &n); err != nil {
		return false, err
	}
	return info.IsDelayedAutoStartUp != 0, nil
}
