package enrol

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/storewatch/storewatch/internal/atomicfile"
)

// writeMosquitto rewrites the Mosquitto acl_file and password_file, when
// configured, and has Mosquitto reload them.
func (s *Service) writeMosquitto() error {
	m := s.o.Config.Mosquitto
	if m.ACLFile == "" {
		return nil
	}
	if err := writeAtomic(m.ACLFile, s.o.Access.MosquittoACL(m.HubUser)); err != nil {
		return fmt.Errorf("enrolment: mosquitto acl_file: %w", err)
	}
	if err := writeAtomic(m.PasswordFile, m.HubUser+":"+m.HubPasswordHash+"\n"+s.o.Access.PasswordFile()); err != nil {
		return fmt.Errorf("enrolment: mosquitto password_file: %w", err)
	}
	if m.PIDFile == "" {
		return nil
	}
	return reload(m.PIDFile)
}

// reload sends SIGHUP to the process m.PIDFile names: Mosquitto then
// reads its acl_file and password_file again.
func reload(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("enrolment: mosquitto pid_file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("enrolment: mosquitto pid_file %s: %q is not a process id", pidFile, strings.TrimSpace(string(b)))
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Signal(syscall.SIGHUP)
	}
	if err != nil {
		return fmt.Errorf("enrolment: reload mosquitto (pid %d): %w", pid, err)
	}
	return nil
}

// writeAtomic replaces path with content, readable by its owner and group
// (Mosquitto's), never half-written.
func writeAtomic(path, content string) error {
	return atomicfile.Write(path, []byte(content), func(f *os.File) error { return f.Chmod(0o640) })
}
