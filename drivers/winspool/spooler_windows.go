//go:build windows

package winspool

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

func init() { systemSpooler = winSpooler{} }

// winSpooler asks winspool.drv; x/sys has no bindings for it.
type winSpooler struct{}

var (
	winspoolDrv      = windows.NewLazySystemDLL("winspool.drv")
	procOpenPrinter  = winspoolDrv.NewProc("OpenPrinterW")
	procClosePrinter = winspoolDrv.NewProc("ClosePrinter")
	procGetPrinter   = winspoolDrv.NewProc("GetPrinterW")
	procEnumJobs     = winspoolDrv.NewProc("EnumJobsW")
	procEnumPrinters = winspoolDrv.NewProc("EnumPrintersW")
)

// printerInfo2 is PRINTER_INFO_2W.
type printerInfo2 struct {
	ServerName, PrinterName, ShareName, PortName, DriverName, Comment, Location *uint16
	DevMode                                                                     uintptr
	SepFile, PrintProcessor, Datatype, Parameters                               *uint16
	SecurityDescriptor                                                          uintptr
	Attributes, Priority, DefaultPriority, StartTime, UntilTime, Status, Jobs   uint32
	AveragePPM                                                                  uint32
}

// jobInfo2 is JOB_INFO_2W.
type jobInfo2 struct {
	JobID                                                                                      uint32
	PrinterName, MachineName, UserName, Document, NotifyName, Datatype, PrintProcessor, Params *uint16
	DriverName                                                                                 *uint16
	DevMode                                                                                    uintptr
	Status                                                                                     *uint16
	SecurityDescriptor                                                                         uintptr
	StatusBits, Priority, Position, StartTime, UntilTime, TotalPages, Size                     uint32
	Submitted                                                                                  windows.Systemtime
	Time, PagesPrinted                                                                         uint32
}

// printerInfo4 is PRINTER_INFO_4W, the cheap level EnumPrinters lists names with.
type printerInfo4 struct {
	PrinterName, ServerName *uint16
	Attributes              uint32
}

const (
	errorInvalidPrinterName = syscall.Errno(1801)
	rpcServerUnavailable    = syscall.Errno(1722)
	printerEnumLocal        = 0x2
	printerEnumConnections  = 0x4
)

func (winSpooler) Printer(name string) (Printer, []Job, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return Printer{}, nil, err
	}
	var h windows.Handle
	if r, _, e := procOpenPrinter.Call(uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&h)), 0); r == 0 {
		switch {
		case errors.Is(e, errorInvalidPrinterName):
			return Printer{}, nil, unreachable("%v; the spooler has: %s", errNoPrinter, strings.Join(printerNames(), ", "))
		case errors.Is(e, rpcServerUnavailable):
			return Printer{}, nil, unreachable("the print spooler service is not running")
		}
		return Printer{}, nil, unreachable("OpenPrinter: %v", e)
	}
	defer procClosePrinter.Call(uintptr(h))

	buf, err := call(func(b []byte, need *uint32) (uintptr, error) {
		r, _, e := procGetPrinter.Call(uintptr(h), 2, bufPtr(b), uintptr(len(b)), uintptr(unsafe.Pointer(need)))
		return r, e
	})
	if err != nil {
		return Printer{}, nil, fmt.Errorf("GetPrinter: %w", err)
	}
	pi := (*printerInfo2)(unsafe.Pointer(&buf[0]))
	p := Printer{Name: str(pi.PrinterName), Port: str(pi.PortName), Driver: str(pi.DriverName), Location: str(pi.Location),
		Comment: str(pi.Comment), Status: pi.Status, Attributes: pi.Attributes, Jobs: int(pi.Jobs)}

	var count uint32
	buf, err = call(func(b []byte, need *uint32) (uintptr, error) {
		r, _, e := procEnumJobs.Call(uintptr(h), 0, 0xFFFFFFFF, 2, bufPtr(b), uintptr(len(b)), uintptr(unsafe.Pointer(need)), uintptr(unsafe.Pointer(&count)))
		return r, e
	})
	if err != nil {
		p.JobsUnread = "EnumJobs: " + err.Error()
		if err == windows.ERROR_SUCCESS {
			p.JobsUnread = "EnumJobs failed without an error code"
		}
		return p, nil, nil
	}
	var jobs []Job
	if count > 0 {
		for _, j := range unsafe.Slice((*jobInfo2)(unsafe.Pointer(&buf[0])), count) {
			st := j.Submitted // UTC
			jobs = append(jobs, Job{ID: j.JobID, Document: str(j.Document), Status: j.StatusBits, StatusText: str(j.Status),
				Submitted: time.Date(int(st.Year), time.Month(st.Month), int(st.Day), int(st.Hour), int(st.Minute), int(st.Second),
					int(st.Milliseconds)*int(time.Millisecond), time.UTC)})
		}
	}
	return p, jobs, nil
}

// printerNames lists the printers the spooler knows, for the technician
// who mistyped one.
func printerNames() []string {
	var count uint32
	buf, err := call(func(b []byte, need *uint32) (uintptr, error) {
		r, _, e := procEnumPrinters.Call(printerEnumLocal|printerEnumConnections, 0, 4, bufPtr(b), uintptr(len(b)),
			uintptr(unsafe.Pointer(need)), uintptr(unsafe.Pointer(&count)))
		return r, e
	})
	if err != nil || count == 0 {
		return []string{"(none)"}
	}
	var names []string
	for _, p := range unsafe.Slice((*printerInfo4)(unsafe.Pointer(&buf[0])), count) {
		names = append(names, fmt.Sprintf("%q", str(p.PrinterName)))
	}
	return names
}

// call runs a winspool function that fills a buffer, growing the buffer to
// the size the function asks for.
func call(f func(b []byte, need *uint32) (uintptr, error)) ([]byte, error) {
	b := make([]byte, 4096)
	for range 4 {
		var need uint32
		r, err := f(b, &need)
		if r != 0 {
			return b, nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || need <= uint32(len(b)) {
			return nil, err
		}
		b = make([]byte, need)
	}
	return nil, errors.New("the answer kept growing")
}

func bufPtr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func str(p *uint16) string { return windows.UTF16PtrToString(p) }
