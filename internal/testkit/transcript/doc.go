// Package transcript reads the request/answer transcripts that drivers keep
// in their testdata folders and plays them as a device, so a driver's table
// tests run the driver's real exchange code against bytes written down from
// the protocol reference, independently of the emulators in devsim (which are
// written separately and could share a misreading).
//
// A transcript file holds cases. Each case starts with "=== name" and has
// lines:
//
//	> 10 04 01          bytes the driver sends (hex pairs and/or "quoted" Go strings)
//	< 12                bytes the device answers (several lines are joined)
//	< silence           the device does not answer this request
//	! key value         an expectation or a setting for the test
//	# comment
//
// Tokens mix freely: `< 02 "030,0,0" 03 0D 0A`. A case named "defaults"
// lends its exchanges to every other case of the file when it is played by
// a Replay, answered as often as asked, so common answers (an identity) are
// written once.
//
// The expectations Check understands:
//
//	! error protocol|timeout|busy the probe fails so (busy: drivers.ErrBusy, the poll is skipped)
//	! faults a,b | none           exactly these fault codes (sorted)
//	! identity k=v ...            identity fields (vendor, model, serial, firmware, any other key an extra); "none": no identity
//	! measured k=v ...            measurements
//	! not_measured k ...          measurements that must be absent
//
// and the settings Spec reads: "! option k=v ..." (driver options) and
// "! expected k=v ..." (the inventory's identity). In k=v lists an
// underscore stands for a space. Other keys are left to the driver's own
// test.
//
// There are two ways to play a case: a Script is an in-memory connection
// that insists on the requests in order (a driver's exchange code is handed
// it directly); a Replay is a device (devsim.Device) that answers requests by
// their content, served on a PTY so the driver opens a real serial port.
//
// Only tests import this package.
package transcript
