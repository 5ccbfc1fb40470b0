package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of a process's memory and CPU time.
type ProcSample struct {
	At      time.Time
	RSS     int64 // VmRSS, bytes
	RSSAnon int64 // RssAnon, bytes: heap and stacks, without mapped files
	// Pss is the proportional set size (smaps_rollup): each resident page
	// divided by the number of processes that map it, so a shared library's
	// pages count once across the machine, not once per process. PssAnon
	// and PssFile split it into heap/stacks and mapped files.
	Pss, PssAnon, PssFile int64
	CPU                   time.Duration // utime + stime so far
}

// ReadProc reads /proc/PID/status, /proc/PID/smaps_rollup and
// /proc/PID/stat.
func ReadProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSS = kB(v)
		case "RssAnon":
			s.RSSAnon = kB(v)
		}
	}
	rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return s, err
	}
	s.Pss, s.PssAnon, s.PssFile = smapsRollup(rollup)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	s.CPU, err = statCPU(string(stat))
	return s, err
}

// smapsRollup returns Pss, Pss_Anon and Pss_File from smaps_rollup.
func smapsRollup(b []byte) (pss, anon, file int64) {
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch k {
		case "Pss":
			pss = kB(v)
		case "Pss_Anon":
			anon = kB(v)
		case "Pss_File":
			file = kB(v)
		}
	}
	return pss, anon, file
}

func kB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return n << 10
}

// statCPU returns utime+stime from a /proc/PID/stat line. The command name
// (field 2) may hold spaces and parentheses, so fields are counted from
// the last ')'.
func statCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command field in %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// After ")": state is field 3, so utime (14) and stime (15) are f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: too few fields in %q", stat)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || ut < 0 || st < 0 || ut > math.MaxInt64/int64(time.Second)/2 || st > math.MaxInt64/int64(time.Second)/2 {
		return 0, fmt.Errorf("stat: bad utime/stime in %q", stat)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// Footprint summarises samples taken over a window.
type Footprint struct {
	Samples             int
	Window              time.Duration
	RSSMedian, RSSMax   int64
	AnonMedian, AnonMax int64
	PssMedian, PssMax   int64
	PssAnonMedian       int64
	PssFileMedian       int64
	CPUMean             float64 // share of one core over the whole window (0.05 = 5 %)
	CPUMedian, CPUMax   float64 // per sampling interval
}

// Summarise turns consecutive samples into medians and maxima. CPU is given
// per interval between two samples.
func Summarise(ss []ProcSample) Footprint {
	f := Footprint{Samples: len(ss)}
	if len(ss) == 0 {
		return f
	}
	var rss, anon, pss, pssAnon, pssFile []float64
	for _, s := range ss {
		rss = append(rss, float64(s.RSS))
		anon = append(anon, float64(s.RSSAnon))
		pss = append(pss, float64(s.Pss))
		pssAnon = append(pssAnon, float64(s.PssAnon))
		pssFile = append(pssFile, float64(s.PssFile))
	}
	var cpu []float64
	for i := 1; i < len(ss); i++ {
		if dt := ss[i].At.Sub(ss[i-1].At); dt > 0 {
			cpu = append(cpu, float64(ss[i].CPU-ss[i-1].CPU)/float64(dt))
		}
	}
	f.RSSMedian, f.RSSMax = int64(Quantile(rss, 0.5)), int64(Quantile(rss, 1))
	f.AnonMedian, f.AnonMax = int64(Quantile(anon, 0.5)), int64(Quantile(anon, 1))
	f.PssMedian, f.PssMax = int64(Quantile(pss, 0.5)), int64(Quantile(pss, 1))
	f.PssAnonMedian, f.PssFileMedian = int64(Quantile(pssAnon, 0.5)), int64(Quantile(pssFile, 0.5))
	if n := len(ss); n > 1 {
		f.Window = ss[n-1].At.Sub(ss[0].At)
		f.CPUMean = float64(ss[n-1].CPU-ss[0].CPU) / float64(f.Window)
		f.CPUMedian, f.CPUMax = Quantile(cpu, 0.5), Quantile(cpu, 1)
	}
	return f
}

// Quantile returns the q-quantile (0..1) of xs by linear interpolation
// between closest ranks; NaN for no values. xs is not changed.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// SampleProc reads the process every interval for window (from now) and
// returns the readings, first and last included.
func SampleProc(pid int, every, window time.Duration) ([]ProcSample, error) {
	var out []ProcSample
	end := time.Now().Add(window)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, err := ReadProc(pid)
		if err != nil {
			return out, fmt.Errorf("process %d: %w", pid, err)
		}
		out = append(out, s)
		if !s.At.Before(end) {
			return out, nil
		}
		<-t.C
	}
}

// LoadAvg returns /proc/loadavg's first three fields, e.g. "0.52 0.61 0.70".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// TreeCPU is the CPU time (utime+stime) of process pid and its children,
// those running now (a child that ended took its time with it).
func TreeCPU(pid int) (time.Duration, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	found := false
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		if n != pid && statPPID(string(stat)) != pid {
			continue
		}
		cpu, err := statCPU(string(stat))
		if err != nil {
			return 0, err
		}
		found = found || n == pid
		sum += cpu
	}
	if !found {
		return 0, fmt.Errorf("process %d is not running", pid)
	}
	return sum, nil
}

// statPPID is the parent's pid in /proc/PID/stat (0 if unreadable).
func statPPID(stat string) int {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}
