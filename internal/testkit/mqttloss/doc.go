// Package mqttloss is a test relay between an MQTT 3.1.1 client and its
// broker that loses chosen messages after acknowledging them: the client
// gets its PUBACK, the broker never sees the PUBLISH. That is what a broker
// does when it loses a message it has acknowledged (a node that dies with
// it, a session handed over with it in flight), made deterministic, so that
// a test can show what storewatch does about it (hub/resend). Everything
// else passes unchanged, packet by packet, in order.
package mqttloss
