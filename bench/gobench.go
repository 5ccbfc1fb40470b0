package bench

import (
	"bufio"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// GoBenchResult is one line of `go test -bench` output: the benchmark's
// name (without the -GOMAXPROCS suffix) and its metrics by unit.
type GoBenchResult struct {
	Name    string
	N       int
	Metrics map[string]float64 // "ns/op", "events/s", ...
}

// ParseGoBench reads the result lines of `go test -bench` output.
func ParseGoBench(out string) []GoBenchResult {
	var rs []GoBenchResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		r := GoBenchResult{Name: name, N: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			r.Metrics[f[i+1]] = v
		}
		rs = append(rs, r)
	}
	return rs
}

// RunGoBench runs `go test -run ^$ -bench pattern -benchtime bt pkg` in
// root and returns the parsed results and the command line.
func RunGoBench(root, pkg, pattern, benchtime string, count int) ([]GoBenchResult, string, error) {
	args := []string{"test", pkg, "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-count", strconv.Itoa(count)}
	c := exec.Command("go", args...)
	c.Dir = root
	out, err := c.CombinedOutput()
	line := "go " + strings.Join(args, " ")
	if err != nil {
		return nil, line, fmt.Errorf("%s: %v\n%s", line, err, out)
	}
	rs := ParseGoBench(string(out))
	if len(rs) == 0 {
		return nil, line, fmt.Errorf("%s: no benchmark results\n%s", line, out)
	}
	return rs, line, nil
}
