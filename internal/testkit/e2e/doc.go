// Package e2e holds end-to-end tests of the whole product with real
// processes: the storeagent and storehub binaries, a real Mosquitto, and
// devsim emulators standing in for the store's devices. It has no code of
// its own; other packages test their parts, this one tests that the parts
// make a product.
package e2e
