//go:build !windows

package enrol

import (
	"os"
	"os/user"
	"strconv"
)

// ServiceUser is the account the packaged service runs as on Linux.
const ServiceUser = "storewatch"

// restrict makes f readable and writable by its owner only and, when run
// as root on a machine with the service's user, hands it to that user.
func restrict(f *os.File) error {
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(ServiceUser)
	if err != nil {
		return nil // no service user (a hand-made install): root keeps it
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil
	}
	return f.Chown(uid, gid)
}

func restrictPath(string) error { return nil }
