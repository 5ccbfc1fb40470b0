//go:build wine

package wintest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/internal/testkit/wine"
)

// The MSI installed the way SCCM would with an enrolment token: the
// service enrols at its start, at a real storehub over HTTP, writes its
// password file and agent.yaml, and reports to the hub's embedded broker.
func TestMSIEnrolsAtTheServicesStart(t *testing.T) {
	p := wine.Use(t)
	_, built := builtMSI(t)
	msi := p.WinPath(built)

	// The hub, on Linux, on loopback: Wine's programs reach it there.
	hubBin := filepath.Join(t.TempDir(), "storehub")
	if out, err := exec.Command("go", "build", "-o", hubBin, "../../cmd/storehub").CombinedOutput(); err != nil {
		t.Fatalf("build storehub: %v\n%s", err, out)
	}
	api := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	mqtt := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	const token = "wine-admin-token-0123456789"
	cfg := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %s\napi: {listen: %q, tokens: [{name: sccm, role: admin, token: %s}]}\n"+
		"broker: {embedded: {listen: %q}}\nenrolment: {broker_urls: [\"tcp://%s\"]}\n", t.TempDir(), api, token, mqtt, mqtt)), 0o600); err != nil {
		t.Fatal(err)
	}
	hub := testenv.Start(t, hubBin, "serve", "--config", cfg)
	testenv.WaitForPort(t, api, 20*time.Second)
	tokens := exec.Command(hubBin, "tokens", "create", "--tenant", "acme", "--stores", "S00*", "--uses", "1")
	tokens.Env = append(os.Environ(), "STOREHUB_API=http://"+api, "STOREHUB_TOKEN="+token)
	out, err := tokens.Output()
	if err != nil {
		t.Fatalf("storehub tokens create: %v", err)
	}
	enrolToken := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub:\n%s", hub.Output())
		}
		p.Run(t, agentExe, "stop")
		p.WaitExited(t, "storeagent.exe")
		p.Run(t, "msiexec.exe", "/x", msi, "/qn")
		os.RemoveAll(p.Path(dataDir))
		p.Run(t, "reg.exe", "add", `HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application`, "/f")
	})
	msiexec(t, p, "/i", msi, "/qn", "ENROLLURL=http://"+api, "ENROLLTOKEN="+enrolToken, "STORE=S0042")

	type agentView struct {
		Tenant, Store, Agent string
		Online               bool
		OS                   string
	}
	testenv.WaitFor(t, 90*time.Second, "the installed agent enrolled and online at the hub", func() bool {
		req, _ := http.NewRequest("GET", "http://"+api+"/api/v1/agents?store=S0042", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var as []agentView
		return json.NewDecoder(resp.Body).Decode(&as) == nil && len(as) == 1 && as[0].Online && as[0].OS == "windows/amd64"
	})
	yaml := string(testenv.ReadFile(t, p.Path(agentYAML)))
	for _, want := range []string{"tenant: acme", "store: S0042", "agent: main", "password_file: broker-password", "tcp://" + mqtt} {
		if !strings.Contains(yaml, want) {
			t.Errorf("agent.yaml after the enrolment lacks %q:\n%s", want, yaml)
		}
	}
	if _, err := os.Stat(p.Path(dataDir + `\enroll.pending`)); err == nil {
		t.Error("the pending enrolment (with its token) was left behind")
	}
	if pw, err := os.ReadFile(p.Path(dataDir + `\broker-password`)); err != nil || len(strings.TrimSpace(string(pw))) < 16 {
		t.Errorf("broker-password: %v", err)
	}
}
