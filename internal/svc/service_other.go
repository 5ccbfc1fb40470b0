//go:build !windows

package svc

import "github.com/kardianos/service"

func interactive() bool { return service.Interactive() }

// serve lets kardianos answer the service manager (systemd).
func serve(s service.Service, _ Spec, _ *program) error { return s.Run() }
