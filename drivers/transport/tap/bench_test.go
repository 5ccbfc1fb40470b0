package tap_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/zvt"
)

// echoDevice answers every byte with the same byte, at once.
type echoDevice struct{}

func (echoDevice) Serve(_ context.Context, rw io.ReadWriter) error {
	buf := make([]byte, 256)
	for {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		if _, err := rw.Write(buf[:n]); err != nil {
			return err
		}
	}
}

// roundTrip sends one byte and reads its echo, b.N times.
func roundTrip(b *testing.B, c transport.Conn) {
	one := []byte{0x42}
	c.SetDeadline(time.Now().Add(time.Minute))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(one); err != nil {
			b.Fatal(err)
		}
		if _, err := transport.ReadFull(c, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirectByte is the POS application talking to the device's port
// itself: one byte out, its echo back.
func BenchmarkDirectByte(b *testing.B) {
	p, err := devsim.ServePTY(context.Background(), echoDevice{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	a, _ := transport.Parse("serial://" + p.Path)
	c, err := transport.Dial(context.Background(), a, transport.DialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	roundTrip(b, c)
}

// BenchmarkTapByte is the same through the tap: the difference is what the
// tap adds to one byte each way.
func BenchmarkTapByte(b *testing.B) {
	roundTrip(b, startLane(b, echoDevice{}, "").l.POS(b, "", transport.SerialMode{}))
}

// BenchmarkTapByteWatched is BenchmarkTapByte with the ZVT driver's
// transaction watcher reading every byte both ways.
func BenchmarkTapByteWatched(b *testing.B) {
	roundTrip(b, startWatchedLane(b, echoDevice{}, "", zvt.NewTransactionWatcher()).l.POS(b, "", transport.SerialMode{}))
}
