// Package readme holds the test that runs the commands README.md shows in
// its shell blocks, as a newcomer would type them on a fresh machine: the
// demo, the agent and the hub on the example configurations, the client
// commands and the configuration checks. It has no code of its own.
package readme
