//go:build unix

package redmine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// One real Redmine serves every test of this package that needs one: it
// takes 15 to 30 seconds to set up, so it starts on first use and stops (by
// its process group id) when the tests end.
var redmine struct {
	once sync.Once
	env  *redmineEnv
	cmd  *exec.Cmd
	dir  string
	err  error
}

// redmineEnv is what scripts/redmine-test-env wrote into redmine.json.
type redmineEnv struct {
	URL          string `json:"url"`
	APIKey       string `json:"api_key"`
	Project      string `json:"project"`
	TrackerID    int    `json:"tracker_id"`
	CustomFields struct {
		ExternalID int `json:"external_id"`
		Store      int `json:"store"`
		Device     int `json:"device"`
		Serial     int `json:"serial"`
	} `json:"custom_fields"`
	Statuses []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"statuses"`
	Person string `json:"person"`
}

// status returns the id of the status named name (New, Resolved, Closed,
// Rejected on a default install).
func (e *redmineEnv) status(t *testing.T, name string) int {
	t.Helper()
	for _, s := range e.Statuses {
		if s.Name == name {
			return s.ID
		}
	}
	t.Fatalf("redmine has no status %q", name)
	return 0
}

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	code := m.Run()
	stopRedmine()
	os.Exit(code)
}

// needRedmine returns the shared Redmine, starting it on first use. Without
// the packages the test is skipped (failed under CI=true).
func needRedmine(t *testing.T) *redmineEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no Redmine")
	}
	if _, err := os.Stat("/etc/redmine/default/database.yml"); err != nil {
		if testenv.CI() {
			t.Fatal("redmine is not installed; the test command (scripts/test) should have installed it (scripts/deps.d/redmine.txt)")
		}
		t.Skip("redmine is not installed (run scripts/test, which installs it)")
	}
	testenv.LookPath(t, "rackup")
	redmine.once.Do(startRedmine)
	if redmine.err != nil {
		t.Fatal(redmine.err)
	}
	return redmine.env
}

func startRedmine() {
	start := time.Now()
	script, err := filepath.Abs("../../../scripts/redmine-test-env")
	if err != nil {
		redmine.err = err
		return
	}
	// Not t.TempDir: its parents are private to root, and Redmine runs as
	// www-data.
	dir, err := os.MkdirTemp("", "storewatch-redmine-")
	if err != nil {
		redmine.err = err
		return
	}
	redmine.dir = dir
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		redmine.err = err
		return
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	log, err := os.Create(filepath.Join(dir, "script.log"))
	if err != nil {
		redmine.err = err
		return
	}
	defer log.Close()
	cmd := exec.Command(script, dir, strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		redmine.err = err
		return
	}
	redmine.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(4 * time.Minute)
	var env redmineEnv
	for {
		data, err := os.ReadFile(filepath.Join(dir, "redmine.json"))
		if err == nil && json.Unmarshal(data, &env) == nil && env.APIKey != "" {
			req, _ := http.NewRequest(http.MethodGet, env.URL+"/issues.json?limit=1", nil)
			req.Header.Set("X-Redmine-API-Key", env.APIKey)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		select {
		case err := <-exited:
			out, _ := os.ReadFile(filepath.Join(dir, "script.log"))
			setup, _ := os.ReadFile(filepath.Join(dir, "log", "setup.log"))
			redmine.err = fmt.Errorf("redmine-test-env ended (%v):\n%s\n%s", err, out, tail(string(setup), 3000))
			redmine.cmd = nil
			return
		case <-deadline:
			redmine.err = errors.New("redmine did not answer within 4 minutes")
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	redmine.env = &env
	fmt.Fprintf(os.Stderr, "redmine: set up and answering on %s after %v\n", env.URL, time.Since(start).Round(100*time.Millisecond))
	go func() { <-exited }() // reaped here; stopRedmine waits on the port
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stopRedmine ends the server's process group and removes its directory; it
// checks that nothing listens on its port any more.
func stopRedmine() {
	if redmine.cmd != nil && redmine.cmd.Process != nil {
		pgid := redmine.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if redmine.env != nil {
			u, _ := url.Parse(redmine.env.URL)
			for i := 0; i < 100; i++ {
				c, err := net.DialTimeout("tcp", u.Host, 100*time.Millisecond)
				if err != nil {
					break
				}
				c.Close()
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if redmine.dir != "" {
		os.RemoveAll(redmine.dir)
	}
}

// admin is a small Redmine client for the tests' own checks, independent of
// the connector under test.
type admin struct {
	env *redmineEnv
	as  string // X-Redmine-Switch-User: act as this person
}

func (a admin) do(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = strings.NewReader(string(data))
	}
	req, err := http.NewRequestWithContext(context.Background(), method, a.env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Redmine-API-Key", a.env.APIKey)
	req.Header.Set("Content-Type", "application/json")
	if a.as != "" {
		req.Header.Set("X-Redmine-Switch-User", a.as)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	return data
}

type adminIssue struct {
	ID           int              `json:"id"`
	Subject      string           `json:"subject"`
	Description  string           `json:"description"`
	Tracker      struct{ ID int } `json:"tracker"`
	Priority     struct{ ID int } `json:"priority"`
	Status       struct{ ID int } `json:"status"`
	Project      struct{ ID int } `json:"project"`
	CustomFields []struct {
		ID    int    `json:"id"`
		Value string `json:"value"`
	} `json:"custom_fields"`
	Journals []struct {
		Notes   string                `json:"notes"`
		User    struct{ Name string } `json:"user"`
		Details []struct {
			Name     string `json:"name"`
			NewValue string `json:"new_value"`
		} `json:"details"`
	} `json:"journals"`
}

func (is adminIssue) field(id int) string {
	for _, f := range is.CustomFields {
		if f.ID == id {
			return f.Value
		}
	}
	return ""
}

// notes returns the issue's non-empty notes, oldest first.
func (is adminIssue) notes() []string {
	var out []string
	for _, j := range is.Journals {
		if j.Notes != "" {
			out = append(out, j.Notes)
		}
	}
	return out
}

// issuesWith lists every issue (any status, any project) whose External ID
// is ext, by reading all issues: it does not rely on the filter the
// connector uses.
func (a admin) issuesWith(t *testing.T, ext string) []adminIssue {
	t.Helper()
	var out []adminIssue
	for offset := 0; ; offset += 100 {
		var page struct {
			Issues     []adminIssue `json:"issues"`
			TotalCount int          `json:"total_count"`
		}
		if err := json.Unmarshal(a.do(t, http.MethodGet, fmt.Sprintf("/issues.json?status_id=*&limit=100&offset=%d", offset), nil), &page); err != nil {
			t.Fatal(err)
		}
		for _, is := range page.Issues {
			if is.field(a.env.CustomFields.ExternalID) == ext {
				out = append(out, a.issue(t, is.ID))
			}
		}
		if offset+100 >= page.TotalCount {
			return out
		}
	}
}

func (a admin) issue(t *testing.T, id int) adminIssue {
	t.Helper()
	var env struct{ Issue adminIssue }
	if err := json.Unmarshal(a.do(t, http.MethodGet, fmt.Sprintf("/issues/%d.json?include=journals", id), nil), &env); err != nil {
		t.Fatal(err)
	}
	return env.Issue
}

// oneIssue asserts that exactly one issue carries ext and returns it.
func (a admin) oneIssue(t *testing.T, ext string) adminIssue {
	t.Helper()
	got := a.issuesWith(t, ext)
	if len(got) != 1 {
		t.Fatalf("%d Redmine issues carry %s, want exactly 1", len(got), ext)
	}
	return got[0]
}
