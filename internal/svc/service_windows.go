//go:build windows

package svc

import (
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	winsvc "golang.org/x/sys/windows/svc"
)

// interactive reports whether the program runs from a console rather than
// under the service manager. x/sys (and kardianos with it) takes a process
// for a service when its parent is services.exe in session 0. Wine, which
// CI runs the service under, has no session 0: its services.exe and
// everything else run in session 1, and every service would think it was
// started from a console and never answer the service manager. So a parent
// that is the system's own services.exe is enough here; on Windows the two
// tests agree, since services.exe only ever runs in session 0.
func interactive() bool {
	if ok, err := winsvc.IsWindowsService(); err == nil && ok {
		return false
	}
	return !parentIsServiceManager()
}

// parentIsServiceManager reports whether the parent process is
// %SystemRoot%\System32\services.exe.
func parentIsServiceManager() bool {
	var info windows.PROCESS_BASIC_INFORMATION
	n := uint32(unsafe.Sizeof(info))
	if err := windows.NtQueryInformationProcess(windows.CurrentProcess(), windows.ProcessBasicInformation,
		unsafe.Pointer(&info), n, &n); err != nil {
		return false
	}
	parent, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(info.InheritedFromUniqueProcessId))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(parent)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	size := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(parent, 0, &buf[0], &size); err != nil {
		return false
	}
	sysdir, err := windows.GetSystemDirectory()
	if err != nil {
		return false
	}
	return strings.EqualFold(windows.UTF16ToString(buf[:size]), filepath.Join(sysdir, "services.exe"))
}

// serve answers the service manager for p through x/sys directly:
// kardianos' Run decides by its own (session 0) test whether to talk to the
// service manager at all.
func serve(_ service.Service, spec Spec, p *program) error {
	h := &handler{p: p, waitHint: uint32((p.timeout + 5*time.Second).Milliseconds())}
	if err := winsvc.Run(spec.Name, h); err != nil {
		return err
	}
	return h.err
}

// handler is the service's control handler.
type handler struct {
	p        *program
	waitHint uint32 // milliseconds the manager should allow for a stop
	err      error  // why the program failed to start or stop
}

func (h *handler) Execute(_ []string, req <-chan winsvc.ChangeRequest, status chan<- winsvc.Status) (bool, uint32) {
	status <- winsvc.Status{State: winsvc.StartPending}
	if err := h.p.Start(nil); err != nil {
		h.err = err
		return true, 1
	}
	status <- winsvc.Status{State: winsvc.Running, Accepts: winsvc.AcceptStop | winsvc.AcceptShutdown}
	for c := range req {
		switch c.Cmd {
		case winsvc.Interrogate:
			status <- c.CurrentStatus
		case winsvc.Stop, winsvc.Shutdown:
			status <- winsvc.Status{State: winsvc.StopPending, WaitHint: h.waitHint}
			if err := h.p.Stop(nil); err != nil {
				h.err = err
				h.p.log.Error("did not stop cleanly", "err", err)
				return true, 2
			}
			return false, 0
		}
	}
	return false, 0
}
