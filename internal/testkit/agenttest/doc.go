// Package agenttest runs the real storeagent for hub tests: it builds
// cmd/storeagent, writes its configuration and starts it as a child
// process, so a hub test talks to the agent users install, over a real
// broker, in front of emulated devices.
package agenttest
