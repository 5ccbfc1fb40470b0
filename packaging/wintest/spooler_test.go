//go:build wine

package wintest

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/internal/testkit/wine"
	"github.com/storewatch/storewatch/wire"
)

// The winspool driver against Wine's print spooler, which is backed by
// CUPS: a real cupsd with a queue lane3 for an emulated receipt printer
// becomes the Windows printer "lane3". GetPrinter (level 2) reads it, a
// mistyped name lists the printers there are. Wine's EnumJobs is a stub and
// Wine does not pass CUPS's printer state on: the status words' mapping is
// tested on recorded words in drivers/winspool.
func TestSpooler(t *testing.T) {
	p := wine.Use(t)
	installAgent(t, p)
	cups := testenv.StartCupsd(t)
	ppd, err := filepath.Abs("../../drivers/cups/testdata/tm-t88vi.ppd")
	if err != nil {
		t.Fatal(err)
	}
	cups.Run("lpadmin", "-p", "lane3", "-E", "-v", "socket://"+simtest.TCP(t, escpos.New()), "-P", ppd, "-D", "receipt lane 3")
	writeFile(t, p, agentYAML, agentConfig("",
		"{id: queue-lane3, kind: receipt_printer, driver: winspool, address: 'winspool:lane3', location: lane 3}",
		"{id: mistyped, kind: receipt_printer, driver: winspool, address: 'winspool:lane33'}"))

	env := []string{"CUPS_SERVER=" + cups.Host}
	must(t, p.Run(t, agentExe, "config", "check"), 0, "config check with winspool devices")
	r := must(t, p.RunEnv(t, env, agentExe, "devices", "--json"), 0, "devices --json")
	var rows []struct {
		ID       string
		State    wire.HealthState
		Faults   []wire.Fault
		Detail   string
		Identity *wire.Identity
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("devices --json: %v\n%s", err, r.Stdout)
	}
	q, bad := rows[0], rows[1]
	if q.ID != "queue-lane3" || q.State != wire.StateOK || !strings.HasPrefix(q.Detail, `printer "lane3" on CUPS:lane3: ready`) ||
		q.Identity == nil || q.Identity.Extra["port"] != "CUPS:lane3" {
		t.Errorf("lane3 through the spooler: %+v %+v", q, q.Identity)
	}
	if bad.State != wire.StateUnreachable || len(bad.Faults) != 1 || !strings.Contains(bad.Faults[0].Detail, `no such printer; the spooler has: "lane3"`) {
		t.Errorf("a mistyped printer: %+v", bad)
	}
}
