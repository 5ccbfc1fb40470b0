// Command storehub is the central service of storewatch and its command-line
// client.
//
// The demo (a hub, an agent and emulated devices in one process) is a
// command of its own, cmd/storewatch-demo, so that this binary links no
// agent, driver or emulator code.
//
//	storehub serve --config /etc/storewatch/hub.yaml run the hub
//	storehub config check [FILE]                     check a configuration
//	storehub install|uninstall|start|stop|restart|status [--config FILE]
//	                                                 manage the system service
//	storehub incidents [--state live] [--store s0042] list incidents (via the API)
//	storehub devices [--state fault]                 list devices
//	storehub stores                                  list stores
//	storehub acl --config hub.yaml [--passwd]        print a Mosquitto acl_file (or password_file)
//	storehub passwd < password                       print a $7$ hash for hub.yaml
//	storehub query STORE DEVICE [status|identify|counters|operations]
//	                                                 ask a device's agent now (via the API)
//	storehub keys --config hub.yaml                  print the hub's public key for the agents
//	storehub version
//
// The client commands read the API address from --api or STOREHUB_API
// (default http://127.0.0.1:8080) and the token from --token or
// STOREHUB_TOKEN.
package main
