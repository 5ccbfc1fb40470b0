// Package svc runs storeagent and storehub as operating-system services with
// github.com/kardianos/service: the Windows service manager (with recovery
// actions and delayed auto-start) and systemd (with our own hardened unit, the
// same file the deb and rpm packages ship). It also sends warnings and errors
// to the Windows Event Log and gives the program a bounded time to stop.
// Run, Manage and ConfigFile are what storeagent and storehub share: running
// from a terminal or under the service manager, the service commands, and
// where the configuration lives.
package svc
