package reports

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The charts are SVG written by hand: a few rectangles and labels need no
// library and no script, render the same in every browser (and in the
// headless one of the console tests), and are deterministic, so golden
// files pin them. Each chart has a <title> and a <desc> that lists its
// figures for screen readers, a visible heading, and every bar or cell
// carries its number as text, not only as a length or a colour.

// Chart is one rendered chart.
type Chart struct {
	Name  string        `json:"name"` // failure_rate, weekday_hour, mttr, sla
	Title string        `json:"title"`
	SVG   template.HTML `json:"-"`
}

// Charts renders every chart of r, in page order.
func Charts(r *Report) []Chart {
	return []Chart{
		{"failure_rate", failureRateTitle, FailureRateChart(r)},
		{"weekday_hour", weekdayHourTitle, WeekdayHourChart(r)},
		{"mttr", mttrTitle, MTTRChart(r)},
		{"sla", slaTitle, SLAChart(r)},
	}
}

const (
	failureRateTitle = "How often each model fails: failures per device per month"
	weekdayHourTitle = "When failures begin: weekday and hour, store time"
	mttrTitle        = "How long a failure lasts: average time to repair, by model"
	slaTitle         = "Service targets met and missed, by priority"
)

// notMeaningful is what a rate over less than MinDeviceMonths says.
var notMeaningful = fmt.Sprintf("not yet meaningful: under %s device-months installed", num(MinDeviceMonths))

// maxBars bounds a bar chart; the CSV has every row.
const maxBars = 20

// Colours: blue and orange stay apart for the common colour-vision
// deficiencies; grey is "not decided yet".
const (
	colBar     = "#2b6cb0"
	colMissed  = "#dd6b20"
	colPending = "#a0aec0"
	colText    = "#1a202c"
	colGrid    = "#e2e8f0"
	colEmpty   = "#f7f9fc"
)

// heat is the heat map's scale, lightest to darkest.
var heat = [5]string{"#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"}

type canvas struct {
	b strings.Builder
}

func newCanvas(id string, w, h int, title, desc string) *canvas {
	c := &canvas{}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" id="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" font-family="sans-serif" font-size="12">`+"\n",
		id, w, h, w, h, id, id)
	fmt.Fprintf(&c.b, "<title id=\"%s-title\">%s</title>\n<desc id=\"%s-desc\">%s</desc>\n", id, esc(title), id, esc(desc))
	c.text(8, 20, "start", `font-weight="bold" font-size="14"`, title)
	return c
}

func esc(s string) string { return html.EscapeString(s) }

func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func (c *canvas) text(x, y float64, anchor, attrs, s string) {
	c.inked(x, y, anchor, colText, attrs, s)
}

// inked writes text in a colour of its own. The colour is the fill
// attribute, never a style attribute: the console's Content-Security-Policy
// (style-src 'self') drops inline styles.
func (c *canvas) inked(x, y float64, anchor, ink, attrs, s string) {
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" text-anchor="%s" fill="%s"`, px(x), px(y), anchor, ink)
	if attrs != "" {
		c.b.WriteString(" " + attrs)
	}
	fmt.Fprintf(&c.b, ">%s</text>\n", esc(s))
}

// rect draws a rectangle; tip, if any, is its tooltip.
func (c *canvas) rect(x, y, w, h float64, fill, tip string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"`, px(x), px(y), px(w), px(h), fill)
	if tip == "" {
		c.b.WriteString("/>\n")
		return
	}
	fmt.Fprintf(&c.b, "><title>%s</title></rect>\n", esc(tip))
}

func (c *canvas) done() template.HTML {
	c.b.WriteString("</svg>\n")
	return template.HTML(c.b.String()) // every string in it went through esc
}

// label shortens a name for the label column; the tooltip has it whole.
func label(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// period says the report's period in words: "1 Nov 2026 to 30 Nov 2026"
// for whole days (the last day included), with the times otherwise.
func period(f Filter) string { return Period(f.From, f.To) }

// Period writes from <= t < to in words, in UTC: whole days as "1 Nov 2026
// to 30 Nov 2026" (to's day itself not included), other times with hours
// and minutes.
func Period(from, to time.Time) string {
	from, to = from.UTC(), to.UTC()
	midnight := func(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }
	const day = "2 Jan 2006"
	if midnight(from) && midnight(to) {
		last := to.AddDate(0, 0, -1)
		if last.Equal(from) {
			return from.Format(day) + " (UTC)"
		}
		return from.Format(day) + " to " + last.Format(day) + " (UTC)"
	}
	const minute = "2 Jan 2006 15:04"
	return from.Format(minute) + " to " + to.Format(minute) + " UTC"
}

// Hours writes a length of time given in hours as people say it: minutes
// under an hour ("45 min"), hours with one decimal up to two days ("2.5 h"),
// days beyond ("3.2 days").
func Hours(h float64) string {
	switch {
	case h < 1.0/60:
		return "under 1 min"
	case h < 1:
		return fmt.Sprintf("%.0f min", h*60)
	case h < 48:
		return fixedv(h, 1) + " h"
	}
	return fixedv(h/24, 1) + " days"
}

// bar is one row of a horizontal bar chart; a nil value draws no bar and
// shows none instead.
type bar struct {
	name  string
	value *float64
	text  string
	none  string
}

// Layout of the bar charts.
const (
	chartW  = 680
	labelW  = 200
	barMaxW = 220
	rowH    = 26
	barH    = 18
	headH   = 40
)

// textW estimates the width of a label at the charts' 12px sans-serif.
func textW(s string) float64 { return float64(utf8.RuneCountInString(s)) * 6.8 }

// wrap breaks a note (11px) into lines no wider than w, at spaces.
func wrap(s string, w float64) []string {
	const per = 6.0 // an 11px sans-serif character, generously
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case float64(utf8.RuneCountInString(line+" "+word))*per > w:
			out = append(out, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

func barChart(id, title, what, unit string, f Filter, bars []bar) template.HTML {
	slices.SortStableFunc(bars, func(a, b bar) int {
		switch {
		case a.value == nil && b.value == nil:
			return cmp.Compare(a.name, b.name)
		case a.value == nil:
			return 1
		case b.value == nil:
			return -1
		}
		return cmp.Or(-cmp.Compare(*a.value, *b.value), cmp.Compare(a.name, b.name))
	})
	more := 0
	if len(bars) > maxBars {
		more = len(bars) - maxBars
		bars = bars[:maxBars]
	}
	var desc strings.Builder
	fmt.Fprintf(&desc, "Horizontal bar chart of %s, %s.", what, period(f))
	if len(bars) == 0 {
		desc.WriteString(" No data.")
	}
	for _, b := range bars {
		v := b.none
		if b.value != nil {
			v = b.text
		}
		fmt.Fprintf(&desc, " %s: %s.", b.name, v)
	}
	if more > 0 {
		fmt.Fprintf(&desc, " %d more in the table.", more)
	}
	// Wide enough for the longest figure beside the longest bar, and for
	// the title: a label cut off by the edge reads as a different number.
	w := float64(chartW)
	for _, b := range bars {
		t := b.none
		if b.value != nil {
			t = b.text
		}
		w = max(w, labelW+barMaxW+6+textW(t)+8)
	}
	w = max(w, 8+textW(title)*1.2+8)
	note := "Period: " + period(f) + "."
	if more > 0 {
		note += fmt.Sprintf(" %d more rows in the table.", more)
	}
	notes := wrap(note, w-16)
	if unit != "" {
		notes = append(notes, wrap(unit, w-16)...)
	}
	h := headH + max(len(bars), 1)*rowH + 14 + 16*len(notes)
	c := newCanvas(id, int(w), h, title, desc.String())
	top := 0.0
	for _, b := range bars {
		if b.value != nil {
			top = max(top, *b.value)
		}
	}
	if len(bars) == 0 {
		c.text(labelW, headH+17, "start", "", "No data in this period.")
	}
	for i, b := range bars {
		y := float64(headH + i*rowH)
		fmt.Fprintf(&c.b, "<g><title>%s</title>\n", esc(b.name))
		c.text(labelW-8, y+13, "end", "", label(b.name, 30))
		if b.value == nil {
			c.rect(labelW, y, barMaxW, barH, colEmpty, b.name+": "+b.none)
			c.text(labelW+6, y+13, "start", `font-style="italic"`, b.none)
		} else {
			c.rect(labelW, y, barMaxW, barH, colEmpty, "")
			w := 0.0
			if top > 0 {
				w = *b.value / top * barMaxW
			}
			c.rect(labelW, y, w, barH, colBar, b.name+": "+b.text)
			c.text(labelW+max(w, 0)+6, y+13, "start", "", b.text)
		}
		c.b.WriteString("</g>\n")
	}
	foot := float64(headH + max(len(bars), 1)*rowH + 16)
	for i, n := range notes {
		c.text(8, foot+float64(16*i), "start", `font-size="11"`, n)
	}
	return c.done()
}

// FailureRateChart is a bar chart of failures per device-month by model.
func FailureRateChart(r *Report) template.HTML {
	var bars []bar
	for _, m := range r.Models {
		none := "no installed devices"
		if m.TooLittleExposure {
			none = notMeaningful
		}
		bars = append(bars, bar{m.Name(), m.Rate, fmt.Sprintf("%s a month (%s, %s devices)", fixed(m.Rate, 2), plural(m.Failures, "failure"), strconv.Itoa(m.Devices)), none})
	}
	unit := fmt.Sprintf("Failures per device per month: a model's failures divided by its devices' installed time in months of 30 days; shown from %s device-months (one device for %s days) on.", num(MinDeviceMonths), num(MinDeviceMonths*30))
	return barChart("report-failure-rate", failureRateTitle, "failures per device per month by model", unit, r.Filter, bars)
}

// MTTRChart is a bar chart of the mean time to repair by model.
func MTTRChart(r *Report) template.HTML {
	var bars []bar
	for _, m := range r.Models {
		if m.Failures == 0 && m.MTTRHours == nil {
			continue // a model that did not fail has no repair time to show
		}
		t := "n/a"
		if m.MTTRHours != nil {
			t = Hours(*m.MTTRHours)
		}
		bars = append(bars, bar{m.Name(), m.MTTRHours, fmt.Sprintf("%s (%s)", t, plural(m.Failures, "failure")), "no failures"})
	}
	unit := "Time to repair: from the start of a failure until the device works again, averaged over the model's failures."
	return barChart("report-mttr", mttrTitle, "average time to repair by model", unit, r.Filter, bars)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func fixed(v *float64, d int) string {
	if v == nil {
		return "n/a"
	}
	return fixedv(*v, d)
}

func fixedv(v float64, d int) string { return strconv.FormatFloat(v, 'f', d, 64) }

// Layout of the heat map.
const (
	cell     = 22
	dayLabel = 40
)

// WeekdayHourChart is a heat map of failures by store-local weekday and
// hour.
func WeekdayHourChart(r *Report) template.HTML {
	top, total := 0, 0
	for _, hours := range r.WeekdayHour {
		for _, n := range hours {
			top, total = max(top, n), total+n
		}
	}
	var desc strings.Builder
	fmt.Fprintf(&desc, "Heat map of %s by the weekday and hour in which they began, in each store's local time, %s.", plural(total, "failure"), period(r.Filter))
	for d, hours := range r.WeekdayHour {
		var busy []string
		for h, n := range hours {
			if n > 0 {
				busy = append(busy, fmt.Sprintf("%02d:00 %d", h, n))
			}
		}
		if len(busy) > 0 {
			fmt.Fprintf(&desc, " %s: %s.", Weekdays[d], strings.Join(busy, ", "))
		}
	}
	w := dayLabel + 24*cell + 10
	notes := wrap("Period: "+period(r.Filter)+". Each number is how many failures began in that hour; hours are each store's own clock.", float64(w-16))
	h := headH + 16 + 7*cell + 28 + 16*len(notes)
	c := newCanvas("report-weekday-hour", w, h, weekdayHourTitle, desc.String())
	if total == 0 {
		c.text(float64(w-8), 20, "end", `font-style="italic"`, "No failures in this period.")
	}
	for hr := range 24 {
		c.text(float64(dayLabel+hr*cell+cell/2), headH+10, "middle", `font-size="10"`, strconv.Itoa(hr))
	}
	for d, hours := range r.WeekdayHour {
		y := float64(headH + 16 + d*cell)
		c.text(dayLabel-6, y+15, "end", "", Weekdays[d])
		for hr, n := range hours {
			x := float64(dayLabel + hr*cell)
			fill, ink := colEmpty, colText
			if n > 0 {
				b := (n*len(heat) - 1) / top // 1..top spread over the buckets
				fill = heat[b]
				if b >= 3 {
					ink = "#ffffff" // the two dark blues: white digits (4.4:1 and 8:1; dark ones would be 3.7:1 and 1.9:1)
				}
			}
			c.rect(x+1, y+1, cell-2, cell-2, fill, fmt.Sprintf("%s %02d:00–%02d:00: %s", Weekdays[d], hr, (hr+1)%24, plural(n, "failure")))
			if n > 0 {
				c.inked(x+cell/2, y+15, "middle", ink, `font-size="10" font-weight="bold"`, strconv.Itoa(n))
			}
		}
	}
	ly := float64(headH + 16 + 7*cell + 12)
	c.text(dayLabel, ly+11, "start", `font-size="11"`, "fewer")
	for i, col := range heat {
		c.rect(float64(dayLabel+40+i*cell), ly, cell-2, 14, col, "")
	}
	c.text(float64(dayLabel+40+len(heat)*cell+4), ly+11, "start", `font-size="11"`, fmt.Sprintf("more (darkest: %d)", top))
	for i, n := range notes {
		c.text(8, ly+30+float64(16*i), "start", `font-size="11"`, n)
	}
	return c.done()
}

// SLAChart is a stacked bar chart of response and resolution targets met,
// missed and pending, by priority.
func SLAChart(r *Report) template.HTML {
	type seg struct {
		n    int
		fill string
		name string
	}
	type row struct {
		name string
		segs []seg
		t    SLATally
	}
	var rows []row
	top := 0
	for _, s := range r.SLA {
		for _, part := range []struct {
			what string
			t    SLATally
		}{{"response", s.Response}, {"resolution", s.Resolution}} {
			t := part.t
			rows = append(rows, row{fmt.Sprintf("P%d %s", s.Priority, part.what),
				[]seg{{t.Met, colBar, "met"}, {t.Missed, colMissed, "missed"}, {t.Pending, colPending, "pending"}}, t})
			top = max(top, t.Met+t.Missed+t.Pending)
		}
	}
	summary := func(t SLATally) string {
		s := fmt.Sprintf("%d met, %d missed, %d pending", t.Met, t.Missed, t.Pending)
		if t.Share != nil {
			s += fmt.Sprintf(" (%s %% met)", fixedv(*t.Share*100, 0))
		}
		return s
	}
	var desc strings.Builder
	fmt.Fprintf(&desc, "Stacked bar chart of SLA targets of the incidents opened %s, by priority.", period(r.Filter))
	for _, rw := range rows {
		fmt.Fprintf(&desc, " %s: %s.", rw.name, summary(rw.t))
	}
	const slaBarW = 160
	h := headH + len(rows)*rowH + 50
	c := newCanvas("report-sla", chartW, h, slaTitle, desc.String())
	if top == 0 {
		c.text(labelW+slaBarW+6, headH-4, "start", `font-style="italic"`, "No incidents opened in this period.")
		top = 1
	}
	for i, rw := range rows {
		y := float64(headH + i*rowH)
		c.text(labelW-8, y+13, "end", "", rw.name)
		c.rect(labelW, y, slaBarW, barH, colEmpty, "")
		x := float64(labelW)
		for _, s := range rw.segs {
			if s.n == 0 {
				continue
			}
			w := float64(s.n) / float64(top) * slaBarW
			c.rect(x, y, w, barH, s.fill, fmt.Sprintf("%s: %d %s", rw.name, s.n, s.name))
			x += w
		}
		c.text(labelW+slaBarW+6, y+13, "start", `font-size="11"`, summary(rw.t))
	}
	ly := float64(headH + len(rows)*rowH + 6)
	for i, s := range []seg{{0, colBar, "met"}, {0, colMissed, "missed"}, {0, colPending, "pending"}} {
		x := float64(labelW + i*90)
		c.rect(x, ly, 14, 14, s.fill, "")
		c.text(x+20, ly+11, "start", `font-size="11"`, s.name)
	}
	c.text(8, ly+32, "start", `font-size="11"`, "Incidents opened "+period(r.Filter)+".")
	return c.done()
}
