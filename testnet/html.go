package testnet

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/gridmesh/gridmesh/internal/plot"
)

// The HTML report: one self-contained file (inline style, SVG drawn
// here, no script, nothing fetched) that shows a run as plots, then
// every figure of the JSON report with what it means. What each plot
// shows is in the package doc and in the page itself.

// WriteHTML writes the report as one self-contained HTML file.
func (r *Report) WriteHTML(path string) error {
	return plot.WriteFile(path, r.HTML)
}

// HTML writes the report as an HTML page to w. A report without series
// (one read from an older JSON file) gets its figures only.
func (r *Report) HTML(w io.Writer) error {
	flat := *r
	flat.Series = nil // plotted, not tabled
	figs, err := plot.Figures(&flat, figureMeanings)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	page := plot.Page{
		Title:   fmt.Sprintf("gridmesh testnet: %d homes, %d neighborhoods, %s", r.Homes, r.Neighborhoods, strings.Join(r.Scenario, ", ")),
		Summary: r.summaryLines(),
		Notes:   r.Errors,
	}
	if s := r.Series; s != nil {
		page.Sections = append(page.Sections, r.feederSection(s), socSection(s))
		if s.Outage != nil && len(s.Outage.TS) > 0 {
			page.Sections = append(page.Sections, outageSection(s))
		}
		if s.Regulation != nil && len(s.Regulation.TS) > 0 {
			page.Sections = append(page.Sections, r.regulationSection(s))
		}
	}
	page.Sections = append(page.Sections, plot.Section{
		Title:  "Figures",
		Text:   "Every value of the JSON report, by its key, with what it means.",
		Tables: []plot.Table{plot.FiguresTable("", figs)},
	})
	return page.Write(w)
}

// summaryLines are the headline figures above the plots.
func (r *Report) summaryLines() []string {
	lines := []string{
		fmt.Sprintf("Seed %d. Ran %.1f s (duration %.1f s); events up to %.0f ms late.", r.Seed, r.RanS, r.DurationS, r.EventsLateMaxMs),
	}
	for _, nb := range r.Neighborhood {
		lines = append(lines, fmt.Sprintf("%s: %d/%d homes live, leader %s, %d leader changes, target %v, achieved %v, tracking error %.2f%%.",
			nb.ID, nb.LiveHomes, nb.Homes, orDash(nb.Leader), nb.LeaderChanges, nb.TargetW, nb.AchievedW, nb.TrackingErrorPct))
	}
	if s := r.SignalToSetpointMs; s.N > 0 {
		lines = append(lines, fmt.Sprintf("Signal to setpoint: p50 %.1f ms, p99 %.1f ms (n=%d).", s.P50, s.P99, s.N))
	}
	if len(r.FailoverMs) > 0 {
		lines = append(lines, fmt.Sprintf("Failover after each leader kill: %s ms.", joinFloats(r.FailoverMs, 0)))
	}
	return lines
}

func joinFloats(xs []float64, dec int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = plot.FormatTick(x, dec)
	}
	return strings.Join(parts, ", ")
}

// timeAxis names the x axis of every plot of a run.
const timeAxis = "time into the run (s)"

// eventMarks are the scenarios' events as marks.
func eventMarks(s *Series) []plot.Mark {
	var out []plot.Mark
	for _, e := range s.Events {
		out = append(out, plot.Mark{X: e.AtS, Label: e.Name})
	}
	return out
}

// kW converts watts to kilowatts, the unit the plots draw power in.
func kW(ws []float64) []float64 {
	out := make([]float64, len(ws))
	for i, w := range ws {
		out[i] = w / 1000
	}
	return out
}

// feederSection plots each neighborhood's feeder against its target,
// with its leaders in the lane and its failover marked.
func (r *Report) feederSection(s *Series) plot.Section {
	sec := plot.Section{
		Title: "Feeders: target against metered import",
		Text: "Per neighborhood: the import its feeder was asked for (its target less its regional share; dashed, as a staircase) " +
			"and what it imported (the sum of its live homes' meters), in kW. Grey lines are the scenarios' events; red ones the leader " +
			"kill and the moment every survivor followed the new leader's plan. The strip below names who led, and when.",
	}
	for _, ns := range s.Neighborhood {
		c := plot.Chart{
			Title:  fmt.Sprintf("%s: feeder import and target", ns.ID),
			XLabel: timeAxis, YLabel: "import (kW)",
			Lines: []plot.Line{
				{Name: "target", X: s.TS, Y: kW(ns.TargetW), Step: true, Dashed: true},
				{Name: "feeder", X: s.TS, Y: kW(ns.FeederW)},
			},
			Marks: eventMarks(s),
			Lane:  "leader",
		}
		if f := ns.Failover; f != nil {
			c.Marks = append(c.Marks, plot.Mark{X: f.KilledS, Label: "leader killed", Color: "#c00"})
			if f.DoneS >= 0 {
				c.Marks = append(c.Marks, plot.Mark{X: f.DoneS, Label: fmt.Sprintf("failover done (%.0f ms)", 1000*(f.DoneS-f.KilledS)), Color: "#c00"})
			}
		}
		for _, l := range ns.Leaders {
			c.Spans = append(c.Spans, plot.Span{From: l.FromS, To: l.ToS, Label: fmt.Sprintf("%s t%d", l.Leader, l.Term)})
		}
		if c.HasData() {
			sec.Charts = append(sec.Charts, c)
		}
	}
	return sec
}

// socSection plots the homes' states of charge as a band and a median.
func socSection(s *Series) plot.Section {
	gap := func(xs []float64) []float64 { // -1: no live battery
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x
			if x < 0 {
				out[i] = math.NaN()
			}
		}
		return out
	}
	c := plot.Chart{
		Title:  "State of charge across homes",
		XLabel: timeAxis, YLabel: "state of charge (%)",
		Lines: []plot.Line{{Name: "median", X: s.TS, Y: gap(s.SoCMedianPct)}},
		Bands: []plot.Band{{Name: "least to greatest", X: s.TS, Lo: gap(s.SoCMinPct), Hi: gap(s.SoCMaxPct)}},
		Marks: eventMarks(s),
	}
	sec := plot.Section{
		Title: "Batteries",
		Text:  "The live homes' batteries: the band spans the least to the greatest state of charge at each moment, the line is the median.",
	}
	if c.HasData() {
		sec.Charts = append(sec.Charts, c)
	}
	return sec
}

// outageSection plots each island's frequency and the load it shed.
func outageSection(s *Series) plot.Section {
	o := s.Outage
	freq := plot.Chart{
		Title:  "Island frequency during the outage",
		XLabel: timeAxis, YLabel: "frequency (Hz)",
		YInclude: []float64{nominalHz},
		Marks:    eventMarks(s),
	}
	shed := plot.Chart{
		Title:  "Load shed during the outage",
		XLabel: timeAxis, YLabel: "non-critical load shed (kW)",
		YInclude: []float64{0},
		Marks:    eventMarks(s),
	}
	for _, f := range o.Feeders {
		hz := make([]float64, len(f.FrequencyHz))
		for i, v := range f.FrequencyHz {
			hz[i] = v
			if v == 0 { // dark
				hz[i] = math.NaN()
			}
		}
		freq.Lines = append(freq.Lines, plot.Line{Name: f.Name, X: o.TS, Y: hz})
		shed.Lines = append(shed.Lines, plot.Line{Name: f.Name, X: o.TS, Y: kW(f.ShedW)})
	}
	sec := plot.Section{
		Title: "Outage: frequency and shedding",
		Text: "While the grid was gone, each island's frequency (a gap while it was dark) and the non-critical load its homes had shed, in kW. " +
			"Times are real seconds; the devices ran faster (the run's speed).",
	}
	for _, c := range []plot.Chart{freq, shed} {
		if c.HasData() {
			sec.Charts = append(sec.Charts, c)
		}
	}
	return sec
}

// regulationSection plots the regulation signal against the response.
func (r *Report) regulationSection(s *Series) plot.Section {
	g := s.Regulation
	score := "no PJM score"
	if p := r.PJMScore; p != nil {
		score = fmt.Sprintf("PJM score %.3f (accuracy %.3f, delay %.3f, precision %.3f)", p.Composite, p.Accuracy, p.Delay, p.Precision)
	} else if r.Regulation != nil && r.Regulation.PJMScoreError != "" {
		score += ": " + r.Regulation.PJMScoreError
	}
	c := plot.Chart{
		Title:  "Regulation: signal and response, " + score,
		XLabel: timeAxis, YLabel: "share of the offer",
		Lines: []plot.Line{
			{Name: "signal", X: g.TS, Y: g.Signal, Step: true, Dashed: true},
			{Name: "response", X: g.TS, Y: g.Response},
		},
		YInclude: []float64{-1, 1},
	}
	text := "The regulation signal in force and the region's response (its import below the neighborhoods' baselines), both over the capacity offered."
	if reg := r.Regulation; reg != nil {
		text += fmt.Sprintf(" Offered %v; precision over every sample %.3f.", reg.OfferedW, reg.Precision)
	}
	sec := plot.Section{Title: "Regulation", Text: text}
	if c.HasData() {
		sec.Charts = append(sec.Charts, c)
	}
	return sec
}
