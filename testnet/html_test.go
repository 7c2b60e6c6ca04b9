package testnet

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/internal/plot"
	"github.com/gridmesh/gridmesh/testnet/browsertest"
)

// fill sets every field reachable from v to something present: a pointer
// to a filled value, one filled element in a slice, one entry in a map,
// 1 in a number, "x" in a string, so that no omitempty hides a key.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(1)
	case reflect.Float64, reflect.Float32:
		v.SetFloat(1)
	case reflect.Bool:
		v.SetBool(true)
	}
}

// Every key of the report, optional ones included, has a line in the
// figures table that says what it means.
func TestEveryReportKeyHasAMeaning(t *testing.T) {
	var rep Report
	fill(reflect.ValueOf(&rep).Elem())
	rep.Series = nil // plotted, not tabled
	figs, err := plot.Figures(&rep, figureMeanings)
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) < 60 {
		t.Fatalf("only %d figures from a filled report", len(figs))
	}
	for _, f := range figs {
		if f.Meaning == "" {
			t.Errorf("report key %s has no meaning in figureMeanings", f.Key)
		}
	}
}

// syntheticReport is a report of a made-up run with every series: two
// neighborhoods with a leader kill, an outage and a regulation.
func syntheticReport() *Report {
	rep := &Report{Homes: 6, Neighborhoods: 2, DurationS: 30, RanS: 30.1, Scenario: []string{"dr", "leader-kill", "outage", "regulation"},
		FailoverMs: []float64{850, 1020}, Errors: []string{}, RejectedMessages: map[string]uint64{"expired": 2},
		PJMScore: &PJMScore{Accuracy: 0.9, Delay: 0.95, Precision: 0.8, Composite: 0.883}}
	s := &Series{PeriodS: 0.1, Events: []SeriesEvent{{10, "dr start"}, {15, "leader kill"}, {20, "dr end"}}}
	for i := range 300 {
		t := float64(i) / 10
		s.TS = append(s.TS, t)
		s.SoCMinPct = append(s.SoCMinPct, 30+t/3)
		s.SoCMedianPct = append(s.SoCMedianPct, 50+t/4)
		s.SoCMaxPct = append(s.SoCMaxPct, 70+t/5)
	}
	for k, id := range []gridmesh.NeighborhoodID{"n1", "n2"} {
		ns := NeighborhoodSeries{ID: id, Failover: &FailoverMark{KilledS: 15, DoneS: 15.9 + float64(k)/10},
			Leaders: []LeaderSpan{{"h1", 2, 1, 15}, {"h2", 3, 15.8, 30}}}
		for _, t := range s.TS {
			target := 3000.0
			if t >= 10 && t < 20 {
				target = 1000
			}
			ns.TargetW = append(ns.TargetW, target)
			ns.FeederW = append(ns.FeederW, target+200*math.Sin(t))
		}
		rep.Neighborhood = append(rep.Neighborhood, NeighborhoodReport{ID: id, Homes: 3, LiveHomes: 2, Leader: "h2"})
		s.Neighborhood = append(s.Neighborhood, ns)
	}
	s.Outage = &OutageSeries{Feeders: []OutageFeederSeries{{Name: "n1"}, {Name: "n2"}}}
	s.Regulation = &RegulationSeries{}
	for i, t := range s.TS[50:250] {
		s.Outage.TS = append(s.Outage.TS, t)
		for k := range s.Outage.Feeders {
			f := &s.Outage.Feeders[k]
			hz := 50 - 0.2*math.Sin(t/3) - 0.1*float64(k)
			if k == 1 && i > 150 {
				hz = 0 // dark
			}
			f.FrequencyHz, f.ShedW, f.ShedHomes = append(f.FrequencyHz, hz), append(f.ShedW, float64(i%50)*20), append(f.ShedHomes, i%3)
		}
		s.Regulation.TS = append(s.Regulation.TS, t)
		s.Regulation.Signal = append(s.Regulation.Signal, math.Sin(t/2))
		s.Regulation.Response = append(s.Regulation.Response, 0.9*math.Sin((t-0.5)/2))
	}
	rep.Series = s
	return rep
}

// artifactDir is where tests leave what a person may want to look at:
// $GRIDMESH_ARTIFACTS, or the test's temporary directory.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("GRIDMESH_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// The HTML of a report with every series holds a plot for each, which a
// real browser draws, and a figure for every key.
func TestHTMLReportDrawsEveryPlot(t *testing.T) {
	rep := syntheticReport()
	path := filepath.Join(artifactDir(t), "synthetic-report.html")
	if err := rep.WriteHTML(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	// Two feeders, the batteries, the outage's frequency and shedding,
	// the regulation.
	if n := strings.Count(html, `<svg class="plot"`); n != 6 {
		t.Errorf("%d plots, want 6", n)
	}
	for _, want := range []string{"leader killed", "failover done (900 ms)", "h2 t3", "PJM score 0.883", `id="figures"`,
		"failover_ms", "[850, 1020]", "import (kW)", "frequency (Hz)", "state of charge (%)"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "<link", "src=", "url("} {
		if strings.Contains(html, banned) {
			t.Errorf("report holds %q: it must be one self-contained file", banned)
		}
	}
	ctx := browsertest.New(t)
	d, err := browsertest.Draw(ctx, "file://"+path)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Plots) != 6 {
		t.Errorf("the browser found %d plots, want 6", len(d.Plots))
	}
	for _, u := range d.Undrawn() {
		t.Error(u)
	}
	figs, _ := plot.Figures(&Report{}, nil)
	if d.FigureRows < len(figs) {
		t.Errorf("%d figure rows, want at least %d", d.FigureRows, len(figs))
	}
	shot := strings.TrimSuffix(path, ".html") + ".png"
	if err := browsertest.Screenshot(ctx, shot); err != nil {
		t.Fatal(err)
	}
	t.Logf("report %s, screenshot %s", path, shot)
}

// A report without series (read from an older JSON file) still has its
// figures, and no empty plot.
func TestHTMLReportWithoutSeries(t *testing.T) {
	var b strings.Builder
	rep := syntheticReport()
	rep.Series = nil
	if err := rep.HTML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `<svg class="plot"`) || !strings.Contains(b.String(), `id="figures"`) {
		t.Error("a report without series: want figures and no plot")
	}
}

func TestSeriesRec(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cfg := DefaultConfig()
	cfg.SamplePeriod, cfg.Duration = 100*time.Millisecond, 3000*time.Second // 30,000 samples: one in 20 kept
	nbhds := []*neighborhood{{id: "n1"}}
	r := newSeriesRec(cfg, t0, nbhds)
	if r.every != 20 || r.s.PeriodS != 2 {
		t.Fatalf("every %d, period %v s; want 20 and 2 s", r.every, r.s.PeriodS)
	}
	leaders := []struct {
		id   gridmesh.HomeID
		term uint64
	}{{"h1", 1}, {"h1", 1}, {"", 0}, {"h2", 2}, {"h2", 2}}
	for i := range 45 {
		now := t0.Add(time.Duration(i) * cfg.SamplePeriod)
		r.begin(now)
		l := leaders[min(i/10, len(leaders)-1)]
		r.feeder(0, 1000, gridmesh.W(i), l.id, l.term)
		r.regulation(0.5, 0.4)
		r.outage([]string{"n1"}, []float64{49.9}, [][]sim.HomeSnapshot{{{Shed: true, NonCriticalW: 300}, {}}})
	}
	r.event("regulation step", t0)
	r.event("leader kill", t0.Add(2*time.Second))
	r.failover(0, t0.Add(2*time.Second), time.Time{})
	s := r.series()
	if len(s.TS) != 3 || s.TS[1] != 2 { // samples 0, 20, 40
		t.Errorf("points at %v, want 0, 2, 4", s.TS)
	}
	ns := s.Neighborhood[0]
	if len(ns.FeederW) != 3 || ns.FeederW[2] != 40 {
		t.Errorf("feeder %v", ns.FeederW)
	}
	want := []LeaderSpan{{"h1", 1, 0, 1.9}, {"h2", 2, 3, 4.4}}
	if len(ns.Leaders) != 2 || ns.Leaders[0].Leader != "h1" || ns.Leaders[1].Leader != "h2" ||
		math.Abs(ns.Leaders[0].ToS-want[0].ToS) > 1e-9 || math.Abs(ns.Leaders[1].FromS-3) > 1e-9 {
		t.Errorf("leaders %+v, want %+v (the spans are every sample's, not only the points')", ns.Leaders, want)
	}
	if ns.Failover == nil || ns.Failover.KilledS != 2 || ns.Failover.DoneS != -1 {
		t.Errorf("failover %+v, want killed at 2 s and never done", ns.Failover)
	}
	if len(s.Events) != 1 || s.Events[0].Name != "leader kill" {
		t.Errorf("events %+v: regulation steps are left out", s.Events)
	}
	if g := s.Regulation; g == nil || len(g.TS) != 3 {
		t.Errorf("regulation %+v", g)
	}
	if o := s.Outage; o == nil || len(o.TS) != 3 || o.Feeders[0].ShedW[0] != 300 || o.Feeders[0].ShedHomes[0] != 1 {
		t.Errorf("outage %+v", o)
	}
	// No live battery at a point: -1, which JSON holds.
	r = newSeriesRec(cfg, t0, nbhds)
	r.begin(t0)
	r.soc(nil)
	if got := r.series().SoCMinPct; len(got) != 1 || got[0] != -1 {
		t.Errorf("soc with no battery %v, want [-1]", got)
	}
}
