package mqttloss

import (
	"bufio"
	"bytes"
	"testing"
)

// A PUBLISH as a client writes it: QoS 1, topic "a/b", packet id 7.
var publish = []byte{0x32, 10, 0, 3, 'a', '/', 'b', 0, 7, 'h', 'i', '!'}

func TestReadAndParsePublish(t *testing.T) {
	r := bufio.NewReader(bytes.NewReader(append(append([]byte{}, publish...), 0xc0, 0))) // and a PINGREQ
	pkt, err := ReadPacket(r)
	if err != nil || !bytes.Equal(pkt, publish) {
		t.Fatalf("ReadPacket = %x, %v", pkt, err)
	}
	p, err := ParsePublish(pkt)
	if err != nil || p.Topic != "a/b" || p.QoS != 1 || p.PacketID != 7 || string(p.Payload) != "hi!" {
		t.Fatalf("ParsePublish = %+v, %v", p, err)
	}
	if ping, err := ReadPacket(r); err != nil || !bytes.Equal(ping, []byte{0xc0, 0}) {
		t.Fatalf("the next packet: %x, %v", ping, err)
	}
	for _, bad := range [][]byte{
		{0x32, 5, 0},                      // cut short
		{0x32, 0xff, 0xff, 0xff, 0xff, 1}, // length in five bytes
		{0x32, 0xff, 0xff, 0xff, 0x7f},    // 256 MB
	} {
		if pkt, err := ReadPacket(bufio.NewReader(bytes.NewReader(bad))); err == nil {
			t.Errorf("ReadPacket(%x) = %x, want an error", bad, pkt)
		}
	}
	for _, bad := range [][]byte{{0x30, 1, 0}, {0x32, 4, 0, 2, 'a', 'b'}, {0x36, 2, 0, 0}, {0x40, 2, 0, 1}, {0x30, 3, 0, 9, 'a'}} {
		if p, err := ParsePublish(bad); err == nil {
			t.Errorf("ParsePublish(%x) = %+v, want an error", bad, p)
		}
	}
}

// FuzzReadPacket: no input panics either reader, a packet read is as long
// as its header says, and a PUBLISH's parts lie within it.
func FuzzReadPacket(f *testing.F) {
	f.Add(publish)
	f.Add([]byte{0x30, 5, 0, 1, 'x', 'y', 'z'})
	f.Add([]byte{0xc0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkt, err := ReadPacket(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		if len(pkt) > len(data) || !bytes.Equal(pkt, data[:len(pkt)]) {
			t.Fatalf("read %x out of %x", pkt, data)
		}
		if p, err := ParsePublish(pkt); err == nil && len(p.Topic)+len(p.Payload) > len(pkt) {
			t.Fatalf("%+v does not fit in %x", p, pkt)
		}
	})
}
