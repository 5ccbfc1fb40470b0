package netprobe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/storewatch/storewatch/drivers/transport"
)

// errICMPNotPermitted says neither an unprivileged ("ping" datagram socket,
// allowed by net.ipv4.ping_group_range on Linux) nor a raw ICMP socket could
// be opened.
var errICMPNotPermitted = errors.New("icmp not permitted")

// echo sends one ICMP echo request and waits for the reply until ctx ends.
func echo(ctx context.Context, host string) error {
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("icmp %s: %w: cannot resolve: %v", host, transport.ErrUnreachable, err)
	}
	dst := ips[0]
	network, conn, err := listen()
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}

	id, seq := rand.IntN(0xffff), rand.IntN(0xffff)
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("storewatch")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	var to net.Addr = &net.IPAddr{IP: dst}
	if network == "udp4" {
		to = &net.UDPAddr{IP: dst}
	}
	if _, err := conn.WriteTo(b, to); err != nil {
		return fmt.Errorf("icmp %s: %w: %w", host, transport.ErrUnreachable, err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("icmp %s: %w: no echo reply", host, transport.ErrUnreachable)
			}
			return fmt.Errorf("icmp %s: %w", host, err)
		}
		reply, err := icmp.ParseMessage(1, buf[:n])
		if err != nil || reply.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		e, ok := reply.Body.(*icmp.Echo)
		if !ok || e.Seq != seq || (network != "udp4" && e.ID != id) {
			continue // someone else's reply
		}
		if ip := addrIP(from); ip != nil && !ip.Equal(dst) {
			continue
		}
		return nil
	}
}

func listen() (string, *icmp.PacketConn, error) {
	if c, err := icmp.ListenPacket("udp4", "0.0.0.0"); err == nil {
		return "udp4", c, nil
	}
	if c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0"); err == nil {
		return "ip4:icmp", c, nil
	}
	return "", nil, errICMPNotPermitted
}

func addrIP(a net.Addr) net.IP {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.IP
	case *net.IPAddr:
		return v.IP
	}
	return nil
}
