package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// RotatingFile appends to a file and rotates it before a write would take
// it past maxBytes: the file becomes file.1, file.1 becomes file.2, and so
// on, keeping keep old files; a store PC's disk never fills with logs. The
// agent's log file (log.file) and the remote-query audit log use it. A
// single write larger than maxBytes still goes in whole, into a new file.
type RotatingFile struct {
	path     string
	maxBytes int64
	keep     int

	mu   sync.Mutex
	f    *os.File // nil until the first write, and after an error
	size int64
}

// NewRotatingFile returns a writer for path; the file is opened (created
// with mode 0640) at the first write.
func NewRotatingFile(path string, maxBytes int64, keep int) *RotatingFile {
	return &RotatingFile{path: path, maxBytes: maxBytes, keep: max(keep, 1)}
}

// Write appends p, rotating first when it would not fit.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.size > 0 && r.size+int64(len(p)) > r.maxBytes {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// Sync commits what was written to disk.
func (r *RotatingFile) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	return r.f.Sync()
}

// Close closes the file; a later Write opens it again.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

// rotate shifts the old files up by one and starts an empty file. The
// file is closed first: Windows renames no open file.
func (r *RotatingFile) rotate() error {
	r.f.Close()
	r.f = nil
	name := func(i int) string { return fmt.Sprintf("%s.%d", r.path, i) }
	if err := os.Remove(name(r.keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate: %w", err)
	}
	for i := r.keep - 1; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate: %w", err)
		}
	}
	if err := os.Rename(r.path, name(1)); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return r.open()
}
