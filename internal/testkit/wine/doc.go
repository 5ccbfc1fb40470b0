// Package wine runs Windows programs in tests under Debian's Wine: one
// throw-away Wine prefix (a Windows installation in a temporary directory)
// per test binary, booted headless, with the shim DLL that Go 1.26 programs
// need under Wine 8.0 (shim/bcryptprimitives.c, built with Debian's
// x86_64-w64-mingw32-gcc; test tooling, never shipped).
//
// A test package that uses it runs its tests through Main, which stops every
// process of the prefix (wineserver -k for that prefix only) and deletes it
// when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(wine.Main(m)) }
//
// Like internal/testenv, a missing wine or mingw compiler skips the test on a
// developer's machine and fails it under CI=true.
//
// What Wine cannot show is stated where it matters: Wine's service manager
// keeps no recovery actions or delayed start, and Wine 8.0 keeps no event
// log, so EventLog reads what the prefix's processes reported through
// Wine's debug channels instead.
package wine
