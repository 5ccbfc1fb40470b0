// Package scaletest reads the scale drivers' testdata transcripts and replays
// them over a real PTY, so table tests exercise a driver against the exact
// bytes the protocol reference gives, independently of the emulators in
// devsim (which are written separately and could share a misreading).
//
// A transcript file holds cases:
//
//	# comment
//	== overload (reference 3.1)
//	-> "SI" 0D 0A
//	<- "S +" 0D 0A
//	faults: scale_overload
//	weight_kg: 0.1
//
// "->" lines are what the driver sends, "<-" lines what the device answers
// (several "<-" lines after one "->" are concatenated). Bytes are two-digit
// hex or Go-quoted ASCII. Other lines are "key: value" expectations and setup
// for the driver's test (see Check for the keys it understands). A case named
// "defaults" lends its exchanges to every other case of the file, answered
// as often as asked, so common answers (an identity) are written once.
//
// Only tests import this package.
package scaletest
