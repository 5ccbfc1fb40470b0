// Package transcript reads the request/response transcripts that drivers keep
// in their testdata folders and replays them as a scripted device, so a
// driver's table tests run the driver's real exchange code against bytes
// written down from the protocol reference.
//
// A transcript file holds cases. Each case starts with "=== name" and has
// lines:
//
//	> 10 04 01          bytes the driver must send (hex pairs and/or "quoted" Go strings)
//	< 12                bytes the device answers
//	< silence           the device does not answer this request
//	! key value         an expectation for the test to check (faults, identity, ...)
//	# comment
//
// Tokens mix freely: `< 02 "030,0,0" 03 0D 0A`.
package transcript
