package lab

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/gridmesh/gridmesh/internal/plot"
)

// WriteHTML writes the report as one self-contained HTML file (inline
// style, SVG drawn here, no script): the faults with the failover and
// recovery each cost, the failovers' distribution, and every figure.
func (r *Report) WriteHTML(path string) error {
	return plot.WriteFile(path, r.HTML)
}

// HTML writes the report as an HTML page to w.
func (r *Report) HTML(w io.Writer) error {
	figs, err := plot.Figures(r, labMeanings)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	page := plot.Page{
		Title: fmt.Sprintf("gridmesh lab %s: %d homes, %d neighborhoods, %s link", r.RunID, r.Homes, r.Neighborhoods, r.Link),
		Summary: []string{
			fmt.Sprintf("Faults: %s. Ran %.0f s.", orNone(r.Scenario), r.DurationS),
			fmt.Sprintf("Failover p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d failovers (%d not seen). Stale plans applied %d, minority plans applied %d, linearizable %v (%d operations).",
				r.Failover.P50Ms, r.Failover.P99Ms, r.Failover.MaxMs, r.Failover.Samples, r.Failover.Missed,
				r.StalePlansApplied, r.MinorityPlansApplied, r.Linearizable, r.LinearizabilityOps),
		},
		Notes: r.Errors,
	}
	sec := plot.Section{
		Title: "Faults",
		Text: "Each fault the lab injected, at the time it struck: the failover it caused (to every other home holding a plan of a newer term) " +
			"and the time until every home of its neighborhood followed its leader again after the fault ended, in ms, to the resolution of the status polls. " +
			"Below, the failovers sorted: the share of them that took at most a given time.",
	}
	for _, c := range []plot.Chart{r.faultChart(), r.failoverCDF()} {
		if c.HasData() {
			sec.Charts = append(sec.Charts, c)
		}
	}
	page.Sections = append(page.Sections, sec, plot.Section{
		Title:  "Figures",
		Text:   "Every value of the JSON report, by its key.",
		Tables: []plot.Table{plot.FiguresTable("", figs)},
	})
	return page.Write(w)
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// faultChart plots each fault's failover and recovery times against when
// it struck; -1 (not seen) is a gap.
func (r *Report) faultChart() plot.Chart {
	var at, failover, back []float64
	var marks []plot.Mark
	seen := func(v float64) float64 {
		if v < 0 {
			return nan
		}
		return v
	}
	for _, f := range r.Faults {
		at = append(at, f.AtS)
		failover = append(failover, seen(f.FailoverMs))
		back = append(back, seen(f.BackMs))
		marks = append(marks, plot.Mark{X: f.AtS, Label: strings.TrimSpace(f.Kind + " " + f.Neighborhood)})
	}
	return plot.Chart{
		Title:  "Failover and recovery after each fault",
		XLabel: "time into the run (s)", YLabel: "time (ms)",
		Lines: []plot.Line{
			{Name: "failover", X: at, Y: failover, Markers: true},
			{Name: "back to following", X: at, Y: back, Markers: true, Dashed: true},
		},
		Marks:    marks,
		YInclude: []float64{0},
	}
}

// failoverCDF plots the failovers seen, sorted, against their share.
func (r *Report) failoverCDF() plot.Chart {
	var ms []float64
	for _, v := range r.FailoverMs {
		if v >= 0 {
			ms = append(ms, v)
		}
	}
	slices.Sort(ms)
	share := make([]float64, len(ms))
	for i := range ms {
		share[i] = 100 * float64(i+1) / float64(len(ms))
	}
	return plot.Chart{
		Title:  "Failovers, sorted",
		XLabel: "failover (ms)", YLabel: "failovers at most that long (%)",
		Lines:    []plot.Line{{Name: "share of failovers", X: ms, Y: share, Step: true, Markers: true}},
		YInclude: []float64{0, 100},
	}
}

// labMeanings are the headline keys' meanings; the JSON report's doc
// comments (report.go) say the rest.
var labMeanings = map[string]string{
	"run_id":                       "the run",
	"homes":                        "homes, each a gridmesh node process in its own network namespace",
	"neighborhoods":                "neighborhoods the homes are dealt out among",
	"duration_s":                   "how long the run lasted, s",
	"scenario":                     "the faults injected",
	"link":                         "every home's link profile",
	"failover_ms":                  "per fault that took a leader away, to every other home holding a newer term's plan, ms (-1: not seen)",
	"failover":                     "the failovers' count and nearest-rank percentiles, ms",
	"faults":                       "each fault: what, where, when, and what it cost",
	"homes_without_valid_plan_max": "the most homes at one poll whose plan lease had run out",
	"stale_plans_applied":          "plans of an older term applied after a newer one (0 is right)",
	"plans_refused_stale":          "plans the homes' loops refused as stale",
	"minority_plans_applied":       "plans a partition's minority applied (0 is right)",
	"linearizable":                 "every neighborhood's plan history is linearizable",
	"linearizability_ops":          "operations checked for linearizability",
	"neighborhood":                 "each neighborhood at the end: leader, coverage, clusters",
	"packets":                      "packets the links carried and dropped",
	"link_spec":                    "the link profile's figures",
	"processes":                    "the homes' processes: started, killed, unexpected exits",
	"nat":                          "each home behind NAT at the last poll",
	"process_usage":                "each home's CPU and memory from /proc",
	"errors":                       "what went wrong (empty on a clean run)",
	"linearizability":              "the linearizability check's details",
	"kills":                        "leaders killed (SIGKILL)",
	"stops":                        "leaders stopped (SIGSTOP, then SIGCONT)",
	"partitions":                   "neighborhoods partitioned",
	"isolations":                   "homes (not leading) cut off alone",
	"restart_alls":                 "times every home was killed at once and restarted from disk",
	"flaps":                        "leaders' links taken down and up again and again",
	"loss_windows":                 "times every link lost packets",
	"restarts":                     "homes restarted",
	"restarts_from_disk":           "killed homes back in the cluster they had left",
	"new_clusters_after_restart":   "clusters restarted homes founded (0 is right)",
	"nat_homes":                    "homes behind their own NAT",
	"nat_homes_following":          "of those, following their leader's plan at the last poll",
	"nat_direct":                   "of those, with only direct connections at the last poll",
	"nat_relayed":                  "of those, with a relayed connection at the last poll",
	"public_homes_reachable":       "public homes AutoNAT found public",
}

var nan = math.NaN()
