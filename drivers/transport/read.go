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
// bytes. Nothing after the delimiter is consumed: from a connection of Dial
// (an io.ByteReader that reads ahead and keeps the rest for the next read)
// it takes the bytes one by one from memory; from any other reader it
// reads one byte per call.
func ReadUntil(c io.Reader, delim []byte, max int) ([]byte, error) {
	if br, ok := c.(io.ByteReader); ok {
		return readUntilBytes(br, delim, max)
	}
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

func readUntilBytes(br io.ByteReader, delim []byte, max int) ([]byte, error) {
	buf := make([]byte, 0, min(max, 64))
	for len(buf) < max {
		c, err := br.ReadByte()
		if err != nil {
			return buf, readErr(len(buf), err)
		}
		buf = append(buf, c)
		if len(delim) == 0 || (c == delim[len(delim)-1] && bytes.HasSuffix(buf, delim)) {
			return buf, nil
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
