package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/hub/reports/reportgen"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/testkit/agenttest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// chromium starts Debian's headless Chromium with a fresh profile. The
// flags keep it from reaching for the network, which this machine (and CI)
// does not have: without them it hangs on connection attempts.
func chromium(t *testing.T) context.Context {
	t.Helper()
	bin := testenv.LookPath(t, "chromium")
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// The console in a real browser: log in, filter the incidents, open one and
// acknowledge it, ask its printer now and see the answer, look at the
// stores and the store's devices, add and end a maintenance window. Every
// page is saved as a screenshot.
func TestConsoleInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	ctx := chromium(t)
	h, base := startHub(t, "policy: {rules: {paper_out: {hold_down: 0s}, cover_open: {hold_down: 0s}}}\n")

	// Two emulated receipt printers behind the real agent: one out of
	// paper, one with its cover open.
	var devices []agenttest.Device
	for i, fault := range []string{escpos.PaperOut, escpos.CoverOpen} {
		p := escpos.New()
		p.Switchboard().Set(fault, true)
		tcp, err := devsim.ServeTCP(context.Background(), p, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tcp.Close() })
		id := []string{"receipt-1", "receipt-2"}[i]
		devices = append(devices, agenttest.Device{ID: id, Kind: "receipt_printer", Driver: "escpos", Address: "tcp://" + tcp.Addr, Location: "lane " + id[len(id)-1:]})
	}
	agenttest.Start(t, agenttest.Build(t), agenttest.Config{ID: wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice-1"},
		BrokerURL: "tcp://" + h.MQTTAddrs()[0], User: "acme-s0042-backoffice-1", Password: "pw-42",
		HubPublicKey: h.Query.PublicKey(), Devices: devices})
	testenv.WaitFor(t, 60*time.Second, "an incident for each printer", func() bool {
		incs, _ := h.Store.Incidents(store.Filter{Live: true})
		return len(incs) == 2
	})

	// $ARTIFACTS_DIR/screenshots or test-artifacts/screenshots (gitignored).
	shots := testenv.ArtifactsDir(t, "screenshots")
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// until waits for a condition in the page; it survives navigations,
	// which end a page's own polling.
	until := func(what, expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			deadline := time.Now().Add(30 * time.Second)
			for {
				if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("gave up waiting for %s", what)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	page := func(title string) chromedp.Action[chromedp.Void] {
		return until("the page "+title, fmt.Sprintf("document.readyState === 'complete' && document.title.startsWith(%q)", title))
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("log in",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible("#token"),
		shot("01-login"),
		chromedp.SendKeys("#token", engineerToken),
		chromedp.Submit("#token"),
		page("Incidents"),
		shot("02-incidents"))
	if got := text("table.incidents tbody"); !strings.Contains(got, "paper_out") || !strings.Contains(got, "cover_open") {
		t.Errorf("the live incidents do not show both faults:\n%s", got)
	}

	step("filter by fault",
		chromedp.SetValue("#f-fault", "paper_out"),
		chromedp.Click("form.filters button[type=submit]"),
		until("the filtered list", "location.search.includes('fault=paper_out') && document.readyState === 'complete'"),
		shot("03-incidents-filtered"))
	if got := text("table.incidents tbody"); !strings.Contains(got, "paper_out") || strings.Contains(got, "cover_open") {
		t.Errorf("filtered by paper_out:\n%s", got)
	}

	step("open the incident and acknowledge it",
		chromedp.Click("table.incidents tbody tr:first-child td:nth-child(5) a"),
		page("INC-"),
		shot("04-incident"),
		chromedp.Click(`form[action$="/acknowledge"] button`),
		until("the acknowledgement", "document.readyState === 'complete' && document.querySelector('.flash') !== null"))
	if got := text(".summary"); !strings.Contains(got, "acknowledged") {
		t.Errorf("after acknowledging: %q", got)
	}
	if got := text("ol.timeline"); !strings.Contains(got, "jane") {
		t.Errorf("the timeline does not say who acknowledged:\n%s", got)
	}

	step("query the printer now",
		chromedp.Click("a.button"),
		page("receipt-1 in s0042"),
		chromedp.Click("#query-now"),
		until("the status answer", "document.querySelector('#answer').innerText.includes(' is fault')"),
		shot("05-device-query"))
	if got := text("#answer"); !strings.Contains(got, "receipt-1 is fault") || !strings.Contains(got, "paper_out") {
		t.Errorf("status answer:\n%s", got)
	}
	step("ask for its identity",
		chromedp.SetValue("#op", "identify"),
		chromedp.Click("#query-now"),
		until("the identity", "document.querySelector('#answer').innerText.includes('says it is')"))
	if got := text("#answer"); !strings.Contains(got, "says it is EPSON TM-T88V") || !strings.Contains(got, "X5E1234567") {
		t.Errorf("identify answer:\n%s", got)
	}
	if got := text("table.list"); !strings.Contains(got, "fault") {
		t.Errorf("the device's history lacks its state change:\n%s", got)
	}

	step("stores and devices",
		chromedp.Click(`nav a[href="/console/stores"]`),
		page("Stores ·"),
		shot("06-stores"),
		chromedp.Click("table.list tbody tr:first-child td:first-child a"),
		page("Test store (s0042)"),
		shot("07-store"))
	if got := text("table.list"); !strings.Contains(got, "receipt-1") || !strings.Contains(got, "TM-T88V") || !strings.Contains(got, "fault") {
		t.Errorf("the store's devices:\n%s", got)
	}

	step("add a maintenance window",
		chromedp.Click(`nav a[href="/console/maintenance"]`),
		page("Maintenance windows"),
		chromedp.SetValue("#w-store", "acme/s0042"),
		chromedp.SetValue("#w-duration", "90m"),
		chromedp.SendKeys("#w-reason", "Lane 2 refit"),
		chromedp.Click(`form.grid button[type=submit]`),
		until("the new window", "document.readyState === 'complete' && document.querySelector('.flash') !== null"),
		shot("08-maintenance"))
	if got := text("table.list"); !strings.Contains(got, "Lane 2 refit") || !strings.Contains(got, "jane") {
		t.Errorf("the new window:\n%s", got)
	}
	step("end it",
		chromedp.Click("button.danger"),
		until("the window to end", "document.readyState === 'complete' && document.querySelector('p.empty') !== null"))
	if got := text("main"); !strings.Contains(got, "No maintenance windows.") {
		t.Errorf("after ending the window:\n%s", got)
	}

	// A month of a known fleet's history, so the reports have figures.
	now := time.Now().UTC()
	if _, err := reportgen.WriteFleet(h.Store, reportgen.FleetSpec{Tenant: "acme", Stores: 3, DevicesPerStore: 5,
		FailuresPerDevice: 2, From: now.AddDate(0, 0, -29), To: now.Add(-time.Hour), Seed: 1}); err != nil {
		t.Fatal(err)
	}
	step("reports with their charts",
		chromedp.Click(`nav a[href="/console/reports"]`),
		page("Reports"),
		until("four charts", "document.querySelectorAll('figure.chart svg').length === 4"),
		shot("09-reports"))
	if got := text("table.list"); !strings.Contains(got, "TM-T88VI") {
		t.Errorf("the model table:\n%s", got)
	}
	t.Logf("screenshots in %s", shots)
}
