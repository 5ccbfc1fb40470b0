package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// StepDeadline bounds the next exchange on c to d, or to ctx's deadline if
// that comes first. Drivers use it when one question may go unanswered by
// design (an optional identity query, a status command some firmware ignores)
// and the rest of the probe must still have time left.
func StepDeadline(ctx context.Context, c Conn, d time.Duration) error {
	dl := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	return c.SetDeadline(dl)
}

// Timeout explains a failed read when the caller's context has ended. The
// context's end closes the connection, so a read racing the deadline may
// fail with "use of closed connection" instead of a timeout; the result then
// matches the context's error too, which FaultFor reads as "no answer before
// the timeout".
func Timeout(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}

// Session dials with dial under timeout, discards input that was waiting
// from before (a streaming scale, a late answer to an earlier question),
// runs fn on the connection and closes it. A failure of fn after the
// deadline reads as a timeout (see Timeout).
func Session(ctx context.Context, timeout time.Duration, dial func(context.Context) (Conn, error), fn func(context.Context, Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	Flush(c)
	return Timeout(ctx, fn(ctx, c))
}
