package transport

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// On Linux the agent opens serial ports itself instead of through
// go.bug.st/serial: non-blocking, owned by Go's poller like a socket, so a
// read that waits for a device parks its goroutine instead of holding a
// thread in select(2) (which made the runtime hand its P to another thread
// and its monitor poll every 20 µs, the larger part of the agent's CPU at
// 50 devices), deadlines need no ioctl per read, and no signalling pipe is
// made per open. The port is never put in exclusive mode unless the
// device asks for it, so no descriptor search is needed to undo that. The
// line settings are the library's: raw, CLOCAL, no flow control.

type nativeSerial struct {
	f      *os.File
	fd     int
	path   string
	unlock func()
}

const haveNativeSerial = true

func openNative(path string, m SerialMode, exclusive bool) (*nativeSerial, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := setLine(fd, m); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if exclusive {
		if err := unix.IoctlSetInt(fd, unix.TIOCEXCL, 0); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	return &nativeSerial{f: os.NewFile(uintptr(fd), path), fd: fd, path: path, unlock: func() {}}, nil
}

// standardBaud are the rates termios names; others need BOTHER.
var standardBaud = map[int]uint32{
	50: unix.B50, 75: unix.B75, 110: unix.B110, 134: unix.B134, 150: unix.B150, 200: unix.B200, 300: unix.B300,
	600: unix.B600, 1200: unix.B1200, 1800: unix.B1800, 2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600,
	19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600, 115200: unix.B115200, 230400: unix.B230400,
	460800: unix.B460800, 500000: unix.B500000, 576000: unix.B576000, 921600: unix.B921600, 1000000: unix.B1000000,
	1152000: unix.B1152000, 1500000: unix.B1500000, 2000000: unix.B2000000, 2500000: unix.B2500000,
	3000000: unix.B3000000, 3500000: unix.B3500000, 4000000: unix.B4000000,
}

func setLine(fd int, m SerialMode) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
	if err != nil {
		return fmt.Errorf("line settings: %w", err)
	}
	t.Cflag |= unix.CREAD | unix.CLOCAL
	t.Lflag &^= unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHONL | unix.ECHOCTL | unix.ECHOPRT | unix.ECHOKE | unix.ISIG | unix.IEXTEN
	t.Iflag &^= unix.IXON | unix.IXOFF | unix.IXANY | unix.INPCK | unix.IGNPAR | unix.PARMRK | unix.ISTRIP | unix.IGNBRK | unix.BRKINT | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IUCLC
	t.Oflag &^= unix.OPOST
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	t.Cflag &^= unix.CRTSCTS | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB | unix.CSIZE
	switch m.Parity {
	case "E":
		t.Cflag |= unix.PARENB
	case "O":
		t.Cflag |= unix.PARENB | unix.PARODD
	case "M":
		t.Cflag |= unix.PARENB | unix.PARODD | unix.CMSPAR
	case "S":
		t.Cflag |= unix.PARENB | unix.CMSPAR
	}
	if m.Parity != "" && m.Parity != "N" {
		t.Iflag |= unix.INPCK
	}
	switch m.DataBits {
	case 5:
		t.Cflag |= unix.CS5
	case 6:
		t.Cflag |= unix.CS6
	case 7:
		t.Cflag |= unix.CS7
	default:
		t.Cflag |= unix.CS8
	}
	switch m.StopBits {
	case "1.5":
		return fmt.Errorf("line settings: 1.5 stop bits are not supported on Linux")
	case "2":
		t.Cflag |= unix.CSTOPB
	}
	t.Cflag &^= unix.CBAUD
	if b, ok := standardBaud[m.Baud]; ok {
		t.Cflag |= b
	} else {
		t.Cflag |= unix.BOTHER
	}
	t.Ispeed, t.Ospeed = uint32(m.Baud), uint32(m.Baud)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS2, t); err != nil {
		return fmt.Errorf("line settings %s: %w", m, err)
	}
	return nil
}

func (c *nativeSerial) SetDeadline(t time.Time) error { return c.f.SetDeadline(t) }

func (c *nativeSerial) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if err != nil {
		err = fmt.Errorf("serial %s: read: %w", c.path, err)
	}
	return n, err
}

func (c *nativeSerial) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	if err != nil {
		err = fmt.Errorf("serial %s: write: %w", c.path, err)
	}
	return n, err
}

func (c *nativeSerial) Close() error {
	err := c.f.Close()
	c.unlock()
	return err
}

// flushInput discards what the device sent and nobody read.
func (c *nativeSerial) flushInput() { _ = unix.IoctlSetInt(c.fd, unix.TCFLSH, unix.TCIFLUSH) }
