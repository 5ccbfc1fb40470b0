// Package archtest holds the test that keeps the rules between the parts
// true (docs/architecture.md): which packages may import which. It reads the
// import graph with `go list`, for Linux and for Windows, and fails on the
// first import that crosses a rule. It has no code of its own.
package archtest
