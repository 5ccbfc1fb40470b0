package enrol

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
