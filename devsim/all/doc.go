// Package all links every emulator into the devsim command, the demo and the
// benchmarks through blank imports, one file per emulator.
package all
