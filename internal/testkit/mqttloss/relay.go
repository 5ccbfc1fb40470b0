package mqttloss

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// MaxPacket bounds one packet the relay reads (a larger one ends the
// connection): the fixed header's remaining length can say up to 256 MB.
const MaxPacket = 1 << 20

// Publish is a PUBLISH packet's parts.
type Publish struct {
	Topic    string
	QoS      byte
	PacketID uint16 // with QoS 1 and 2
	Payload  []byte
}

// Lose decides, for each PUBLISH from the client, whether the relay loses
// it (acknowledging it to the client as the broker would).
type Lose func(p Publish) bool

// Relay accepts clients on a loopback port and connects each to the broker.
type Relay struct {
	Addr string // host:port clients connect to

	ln     net.Listener
	broker string
	lose   Lose
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	lost   int
}

// Start listens on a free loopback port and relays to broker (host:port).
func Start(broker string, lose Lose) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mqttloss: %w", err)
	}
	r := &Relay{Addr: ln.Addr().String(), ln: ln, broker: broker, lose: lose}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Lost counts the messages lost so far.
func (r *Relay) Lost() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost
}

// Close stops listening, ends every relayed connection and waits for them.
func (r *Relay) Close() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		b, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", r.broker)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, c, b)
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.relay(c, b)
		}()
	}
}

// relay runs one client's connection: broker to client packet by packet
// (so that a PUBACK of a lost message goes between two packets), client to
// broker packet by packet through lose.
func (r *Relay) relay(client, broker net.Conn) {
	defer client.Close()
	defer broker.Close()
	var wmu sync.Mutex // the client's writes: the broker's packets and the relay's PUBACKs
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer client.Close()
		br := bufio.NewReader(broker)
		for {
			pkt, err := ReadPacket(br)
			if err != nil {
				return
			}
			wmu.Lock()
			_, err = client.Write(pkt)
			wmu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	cr := bufio.NewReader(client)
	for {
		pkt, err := ReadPacket(cr)
		if err != nil {
			break
		}
		if pkt[0]>>4 == 3 {
			if p, err := ParsePublish(pkt); err == nil && p.QoS == 1 && r.lose(p) {
				r.mu.Lock()
				r.lost++
				r.mu.Unlock()
				wmu.Lock()
				_, err = client.Write([]byte{0x40, 2, byte(p.PacketID >> 8), byte(p.PacketID)})
				wmu.Unlock()
				if err != nil {
					break
				}
				continue
			}
		}
		if _, err := broker.Write(pkt); err != nil {
			break
		}
	}
	broker.Close()
	<-done
}

// ReadPacket reads one whole MQTT packet: the fixed header (type and
// flags, the remaining length in one to four bytes) and what follows.
func ReadPacket(r *bufio.Reader) ([]byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	pkt := []byte{first}
	var n, mul int
	for i := 0; ; i++ {
		if i == 4 {
			return nil, errors.New("mqttloss: remaining length longer than 4 bytes")
		}
		b, err := r.ReadByte()
		if err != nil {
			return nil, noEOF(err)
		}
		pkt = append(pkt, b)
		n += int(b&0x7f) << mul
		mul += 7
		if b&0x80 == 0 {
			break
		}
	}
	if n > MaxPacket {
		return nil, fmt.Errorf("mqttloss: a packet of %d bytes, more than %d", n, MaxPacket)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, noEOF(err)
	}
	return append(pkt, body...), nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ParsePublish reads a PUBLISH packet as ReadPacket returned it.
func ParsePublish(pkt []byte) (Publish, error) {
	if len(pkt) < 2 || pkt[0]>>4 != 3 {
		return Publish{}, errors.New("mqttloss: not a PUBLISH packet")
	}
	p := Publish{QoS: (pkt[0] >> 1) & 3}
	if p.QoS == 3 {
		return Publish{}, errors.New("mqttloss: QoS 3")
	}
	i := 1
	for i < len(pkt) && pkt[i]&0x80 != 0 {
		i++
	}
	i++ // past the last length byte
	if i+2 > len(pkt) {
		return Publish{}, errors.New("mqttloss: PUBLISH without a topic")
	}
	tl := int(binary.BigEndian.Uint16(pkt[i:]))
	i += 2
	if i+tl > len(pkt) {
		return Publish{}, errors.New("mqttloss: topic longer than the packet")
	}
	p.Topic = string(pkt[i : i+tl])
	i += tl
	if p.QoS > 0 {
		if i+2 > len(pkt) {
			return Publish{}, errors.New("mqttloss: PUBLISH without its packet id")
		}
		p.PacketID = binary.BigEndian.Uint16(pkt[i:])
		i += 2
	}
	p.Payload = pkt[i:]
	return p, nil
}
