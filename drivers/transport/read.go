package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLong is returned when a device sends more than the caller allows
// without the expected terminator.
var ErrTooLong = errors.New("answer too long")

// ReadFull reads exactly n bytes.
func ReadFull(c io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	got, err := io.ReadFull(c, buf)
	if err != nil {
		return buf[:got], readErr(got, err)
	}
	return buf, nil
}

// ReadUntil reads until the delimiter (included in the result), at most max
// bytes. It reads one byte at a time so that nothing after the delimiter is
// consumed.
func ReadUntil(c io.Reader, delim []byte, max int) ([]byte, error) {
	var buf []byte
	one := make([]byte, 1)
	for len(buf) < max {
		n, err := c.Read(one)
		if n == 1 {
			buf = append(buf, one[0])
			if bytes.HasSuffix(buf, delim) {
				return buf, nil
			}
			continue
		}
		if err != nil {
			return buf, readErr(len(buf), err)
		}
	}
	return buf, fmt.Errorf("%w: %d bytes without %q", ErrTooLong, max, delim)
}

// readErr keeps a timeout recognisable and says how much had arrived, which is
// what tells "silent" from "stopped mid-answer".
func readErr(got int, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("connection closed after %d bytes: %w", got, io.ErrUnexpectedEOF)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && got > 0 {
		return fmt.Errorf("answer stopped after %d bytes: %w", got, err)
	}
	return err
}
