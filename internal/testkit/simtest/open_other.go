//go:build !unix

package simtest

// noControllingTerminal: only Unix has controlling terminals.
const noControllingTerminal = 0
