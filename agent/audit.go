package agent

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"
)

// AuditEntry is one remote request and its answer.
type AuditEntry struct {
	Time      time.Time         `json:"time"`
	ID        string            `json:"id"`
	Requester string            `json:"requester"`
	Device    string            `json:"device"`
	Op        string            `json:"op"`
	Args      map[string]string `json:"args,omitempty"`
	OK        bool              `json:"ok"`
	Code      string            `json:"code,omitempty"`
	Error     string            `json:"error,omitempty"`
	TookMS    float64           `json:"took_ms"`
}

// AuditLog appends entries as JSON lines to a file, keeping at most two
// files of MaxBytes each (the current one and the previous one, .1), so a
// store PC's disk never fills with it.
type AuditLog struct {
	path string
	file *RotatingFile
	log  *slog.Logger

	mu sync.Mutex
}

// DefaultAuditBytes bounds one audit file.
const DefaultAuditBytes = 10 << 20

// NewAuditLog writes to path; an empty path keeps the audit in the log only.
func NewAuditLog(path string, maxBytes int64, log *slog.Logger) *AuditLog {
	if maxBytes <= 0 {
		maxBytes = DefaultAuditBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AuditLog{path: path, file: NewRotatingFile(path, maxBytes, 1), log: log}
}

// Record appends one entry. A failure to write is logged, never fatal: the
// answer to the engineer matters more than the file.
func (a *AuditLog) Record(e AuditEntry) {
	if a == nil || a.path == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.write(e); err != nil {
		a.log.Error("audit log", "path", a.path, "err", err)
	}
}

func (a *AuditLog) write(e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	// Closed after every entry, as an audit file should be: written
	// through, and free for the administrator to move away (Windows
	// neither renames nor deletes an open file).
	_, err = a.file.Write(append(line, '\n'))
	if err == nil {
		err = a.file.Sync()
	}
	if cerr := a.file.Close(); err == nil {
		err = cerr
	}
	return err
}
