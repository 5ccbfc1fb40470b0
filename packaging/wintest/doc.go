// Package wintest runs what storewatch ships for Windows under Debian's Wine:
// storeagent.exe's commands, the agent against emulated devices and a real
// Mosquitto, the Windows service, the MSI, the event log and the print
// spooler. Its tests carry the build tag wine, so `go test ./...` leaves
// them out and scripts/test runs them as a job of their own, beside the
// Linux tests:
//
//	go test -tags wine ./packaging/wintest
//
// They test the binaries and the MSI scripts/package wrote when
// STOREWATCH_DIST names its directory, and otherwise build storeagent.exe
// themselves (the MSI tests then skip, and fail under CI=true). One Wine
// prefix serves all tests (internal/testkit/wine); they run one after the
// other, and each removes what it installed in it.
package wintest
