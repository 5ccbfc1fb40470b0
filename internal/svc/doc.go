// Package svc runs storeagent and storehub as operating-system services with
// github.com/kardianos/service: the Windows service manager (with recovery
// actions and delayed auto-start) and systemd (with our own hardened unit, the
// same file the deb and rpm packages ship). It also sends warnings and errors
// to the Windows Event Log and gives the program a bounded time to stop.
package svc
