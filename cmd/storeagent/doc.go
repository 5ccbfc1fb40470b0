// Command storeagent is the store service: it watches the store's devices and
// reports their health to the hub.
//
//	storeagent run --config /etc/storewatch/agent.yaml
//	storeagent config check /etc/storewatch/agent.yaml
//	storeagent devices --config /etc/storewatch/agent.yaml
//	storeagent version
package main
