package uplink

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	berrors "go.etcd.io/bbolt/errors"
)

// checkBoltFile looks at a bbolt file's two meta pages before bbolt maps it.
// A file cut short (a full disk, a copy that stopped) makes bbolt touch
// mapped pages past its end, and that is a SIGBUS no recover() catches; here
// it becomes an error, so the file is moved aside instead.
//
// bbolt's meta page (internal/common/meta.go, file format 2): a 16-byte page
// header, then magic, version, page size, flags (uint32 each), the root
// bucket (root pgid, sequence), the freelist pgid, the high-water pgid, the
// txid and an FNV-64a checksum of the fields before it, little-endian on the
// platforms we build for.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	type meta struct{ pageSize, pgid, txid uint64 }
	readMeta := func(off int64) (meta, bool) {
		b := make([]byte, 80)
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return meta{}, false
		}
		le := binary.LittleEndian
		if le.Uint32(b[16:]) != 0xED0CDAED || le.Uint32(b[20:]) != 2 {
			return meta{}, false
		}
		h := fnv.New64a()
		h.Write(b[16:72])
		if h.Sum64() != le.Uint64(b[72:]) {
			return meta{}, false
		}
		return meta{pageSize: uint64(le.Uint32(b[24:])), pgid: le.Uint64(b[56:]), txid: le.Uint64(b[64:])}, true
	}
	m0, ok0 := readMeta(0)
	best, ok := m0, ok0
	if ok0 && m0.pageSize >= 512 && m0.pageSize <= 1<<20 {
		if m1, ok1 := readMeta(int64(m0.pageSize)); ok1 && m1.txid > m0.txid {
			best = m1
		}
	}
	if !ok || best.pageSize == 0 {
		return fmt.Errorf("%w: no valid meta page", berrors.ErrInvalid)
	}
	if need := best.pgid * best.pageSize; uint64(fi.Size()) < need {
		return fmt.Errorf("%w: file is %d bytes but its pages reach %d (truncated)", berrors.ErrInvalid, fi.Size(), need)
	}
	return nil
}
