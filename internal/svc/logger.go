package svc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kardianos/service"
)

// SystemLogHandler tees records at warning level and above to the service
// manager's log (the Windows Event Log, or syslog), where operators look
// first, while everything still goes to next.
type SystemLogHandler struct {
	next  slog.Handler
	sys   service.Logger
	attrs []slog.Attr
}

// NewSystemLogHandler wraps next; sys comes from Service.SystemLogger.
func NewSystemLogHandler(next slog.Handler, sys service.Logger) *SystemLogHandler {
	return &SystemLogHandler{next: next, sys: sys}
}

func (h *SystemLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || l >= slog.LevelWarn
}

func (h *SystemLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn && h.sys != nil {
		var b strings.Builder
		b.WriteString(r.Message)
		write := func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true }
		for _, a := range h.attrs {
			write(a)
		}
		r.Attrs(write)
		if r.Level >= slog.LevelError {
			_ = h.sys.Error(b.String())
		} else {
			_ = h.sys.Warning(b.String())
		}
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *SystemLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &SystemLogHandler{next: h.next.WithAttrs(as), sys: h.sys, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *SystemLogHandler) WithGroup(name string) slog.Handler {
	return &SystemLogHandler{next: h.next.WithGroup(name), sys: h.sys, attrs: h.attrs}
}
