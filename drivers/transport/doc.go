// Package transport opens the byte streams drivers talk over: serial ports
// (on Linux opened by the package itself, non-blocking under Go's poller;
// elsewhere with go.bug.st/serial), TCP connections and USB printer-class device nodes
// (usb:///dev/usb/lp0, opened as a file), all behind one Conn
// interface with deadlines and context cancellation. It parses device
// addresses such as serial:///dev/ttyUSB0?baud=9600&parity=N and
// tcp://10.0.0.5:9100, and it owns the per-port locks that keep two probes
// (or a probe and a remote query) off the same port at the same time.
//
// Timeouts surface as errors that match os.ErrDeadlineExceeded; failures to
// open or connect match ErrUnreachable. Drivers use the two to tell a dead
// device (unreachable) from a silent one (no_response).
package transport
