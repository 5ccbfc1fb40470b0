//go:build !unix

package main

import "os"

// terminalWidth: the demo runs on Unix only (it says so on Windows).
func terminalWidth(*os.File) (int, bool) { return 0, false }
