package lantest

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"testing"

	devescpos "github.com/storewatch/storewatch/devsim/escpos"
	devzpl "github.com/storewatch/storewatch/devsim/zpl"
	devzvt "github.com/storewatch/storewatch/devsim/zvt"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
)

// Store is a /29 of loopback addresses with an ESC/POS printer on 9100
// (Receipt), a ZPL printer on 9100 (Label), a ZVT terminal on 20007
// (Terminal), a Windows PC listening on 3389 (PC) and a second ESC/POS
// printer (Kept) for a test to configure as monitored; Spare, the sixth
// address, is the test's to use.
type Store struct {
	Net                                       netip.Prefix
	Receipt, Label, Terminal, PC, Kept, Spare netip.Addr
}

// New serves the store's devices until the test ends. It skips the test
// where 127.x.y.z is not all loopback (not Linux).
func New(t testing.TB) Store {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("127.x.y.z beyond 127.0.0.1 is loopback on Linux only")
	}
	at := func(a netip.Addr, port int) string { return netip.AddrPortFrom(a, uint16(port)).String() }
	for try := 0; try < 10; try++ {
		base := netip.AddrFrom4([4]byte{127, byte(100 + rand.IntN(150)), byte(rand.IntN(256)), byte(8 * rand.IntN(32))})
		s := Store{Net: netip.PrefixFrom(base, 29)}
		host := func(n int) netip.Addr {
			a := base
			for range n {
				a = a.Next()
			}
			return a
		}
		s.Receipt, s.Label, s.Terminal, s.PC, s.Kept, s.Spare = host(1), host(2), host(3), host(4), host(5), host(6)
		if _, err := simtest.TCPAt(t, devescpos.New(), at(s.Receipt, 9100)); err != nil {
			continue
		}
		if _, err := simtest.TCPAt(t, devzpl.New(), at(s.Label, 9100)); err != nil {
			continue
		}
		if _, err := simtest.TCPAt(t, devzvt.New(), at(s.Terminal, 20007)); err != nil {
			continue
		}
		if _, err := simtest.TCPAt(t, devescpos.NewWith(devescpos.OtherIdentity), at(s.Kept, 9100)); err != nil {
			continue
		}
		ln, err := net.Listen("tcp", at(s.PC, 3389))
		if err != nil {
			continue
		}
		t.Cleanup(func() { ln.Close() }) // accepts nothing: the backlog takes a connect
		return s
	}
	t.Fatal("lantest: no free /29 of loopback addresses after 10 tries")
	return Store{}
}
