// Command storewatch-demo shows storewatch doing its job on a machine with
// nothing but Go: the hub, a real agent and a virtual store of emulated
// devices in one process, through a scripted store day.
//
//	go run ./cmd/storewatch-demo [--speed 60] [--once] [--data DIR] [--listen ADDR] [--verbose]
//
// It is a command of its own, not a subcommand of storehub, because it links
// both sides (the agent, its drivers and the emulators with the hub): the
// hub's binary stays free of agent code. The demo itself is the package
// internal/demo beside this file, which only this command may import.
package main
