// Package testenv helps tests that need real programs (mosquitto, snmpd,
// chromium) or real servers. It finds programs, picks free loopback ports, and
// starts child processes that are stopped by pid when the test ends.
//
// A missing program skips the test on a developer's machine but fails it under
// CI=true: the test command (scripts/test) installs everything CI needs, so a
// missing program there is a broken CI setup, not a reason to skip.
package testenv
