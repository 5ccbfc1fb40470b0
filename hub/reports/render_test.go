package reports_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/hub/reports"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./hub/reports -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended, run with -update and review the diff.\n got:\n%s", path, got)
	}
}

// The scenario's report, rendered: the golden files show what the API and
// the console serve for it, and pin both the figures and the drawing.
func TestGoldenCSVAndCharts(t *testing.T) {
	r := reportOf(t, 0, acme())
	for _, table := range reports.Tables {
		var b bytes.Buffer
		if err := reports.WriteCSV(&b, r, table); err != nil {
			t.Fatal(err)
		}
		golden(t, table+".csv", b.Bytes())
	}
	for _, c := range reports.Charts(r) {
		checkSVG(t, c.Name, string(c.SVG))
		golden(t, c.Name+".svg", []byte(c.SVG))
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", append(j, '\n'))
}

func TestChartsOfAnEmptyPeriodSayNoData(t *testing.T) {
	st := reportOf(t, 0, reports.Filter{Tenant: "nobody", From: from, To: to})
	for _, c := range reports.Charts(st) {
		svg := string(c.SVG)
		checkSVG(t, c.Name, svg)
		if c.Name == "failure_rate" || c.Name == "mttr" {
			if !strings.Contains(svg, "No data in this period.") {
				t.Errorf("%s: an empty chart must say so", c.Name)
			}
		}
		golden(t, "empty_"+c.Name+".svg", []byte(svg))
	}
}

// Device names come from the devices: they are escaped in SVG and defused
// in CSV.
func TestHostileNamesAreEscapedAndDefused(t *testing.T) {
	rate := 1.5
	r := &reports.Report{Filter: acme(), Models: []reports.ModelRow{
		{Vendor: `<script>alert("x")</script>`, Model: "=HYPERLINK(\"http://evil\")", Devices: 1, DeviceMonths: 1, Failures: 1, Rate: &rate, MTTRHours: &rate},
		{Vendor: "Acme & Söhne", Model: "@SUM(A1)", Devices: 1, DeviceMonths: 1, Rate: new(float64)},
	}}
	for _, c := range reports.Charts(r) {
		svg := string(c.SVG)
		checkSVG(t, c.Name, svg)
		if strings.Contains(svg, "<script") {
			t.Errorf("%s: a model name became markup", c.Name)
		}
	}
	var b bytes.Buffer
	if err := reports.WriteCSV(&b, r, "models"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[1][1] != `'=HYPERLINK("http://evil")` || rows[2][1] != "'@SUM(A1)" || rows[1][0] != `<script>alert("x")</script>` {
		t.Errorf("cells a spreadsheet would run: %q", rows)
	}
	if err := reports.WriteCSV(io.Discard, r, "nope"); !errors.Is(err, reports.ErrUnknownTable) {
		t.Errorf("unknown table: %v", err)
	}
}

// checkSVG parses an SVG as XML and checks what makes it accessible: the
// role, the title and description it is labelled by, and a tooltip on every
// mark that carries a figure.
func checkSVG(t *testing.T, name, svg string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	ids := map[string]string{}
	var root xml.StartElement
	var stack []string
	marks, tips := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v\n%s", name, err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root.Name.Local == "" {
				root = e
			}
			for _, a := range e.Attr {
				if a.Name.Local == "id" {
					ids[a.Value] = e.Name.Local
				}
			}
			if e.Name.Local == "title" && len(stack) > 0 && stack[len(stack)-1] == "rect" {
				tips++
			}
			if e.Name.Local == "rect" {
				marks++
			}
			stack = append(stack, e.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	attr := func(k string) string {
		for _, a := range root.Attr {
			if a.Name.Local == k {
				return a.Value
			}
		}
		return ""
	}
	if root.Name.Local != "svg" || attr("role") != "img" {
		t.Errorf("%s: root %s role %q", name, root.Name.Local, attr("role"))
	}
	labels := strings.Fields(attr("aria-labelledby"))
	if len(labels) != 2 || ids[labels[0]] != "title" || ids[labels[1]] != "desc" {
		t.Errorf("%s: aria-labelledby %q does not name its title and desc (%v)", name, labels, ids)
	}
	if marks > 0 && tips == 0 && !strings.Contains(svg, "No ") {
		t.Errorf("%s: no mark has a tooltip, and it does not say there is no data", name)
	}
}
