// Package storetest is the test suite every hub store passes: Run holds a
// store.Backend (bbolt, PostgreSQL) to the behaviour the hub relies on, so
// the backends cannot drift apart. Each backend's tests call Run with a
// constructor of fresh, empty stores.
package storetest
