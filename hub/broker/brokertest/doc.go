// Package brokertest helps tests that need MQTT: it starts a real Mosquitto
// confined by the ACL and password files storehub prints, and connects paho
// clients the way agents do. It is imported by tests only.
package brokertest
