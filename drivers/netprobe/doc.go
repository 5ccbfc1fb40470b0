// Package netprobe checks that a networked device is there: a TCP connect, an
// HTTP GET with an expected status, or an ICMP echo where the agent may send
// one (falling back to TCP connects otherwise). It serves POS PCs, payment
// terminals without a status protocol, routers and anything else that only
// needs to be reachable.
package netprobe
