package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gridmesh/gridmesh/testnet/browsertest"
	"github.com/gridmesh/gridmesh/testnet/lab"
)

// The lab's HTML report of a made-up run (the lab itself needs root and
// network namespaces) holds its fault and failover plots, which a real
// browser draws, and its figures; a fault whose failover was not seen
// is a gap, not a point at -1 ms.
func TestLabHTMLReportDrawsEveryPlot(t *testing.T) {
	rep := &lab.Report{
		RunID: "r1", Homes: 12, Neighborhoods: 3, Link: "dsl", DurationS: 120, Scenario: []string{"kill", "stop", "partition"},
		FailoverMs: []float64{950, 1210, -1, 880},
		Faults: []lab.Fault{
			{Kind: "kill", Neighborhood: "n0", AtS: 20, FailoverMs: 950, BackMs: 3100},
			{Kind: "stop", Neighborhood: "n1", AtS: 45, FailoverMs: 1210, BackMs: 2500},
			{Kind: "partition", Neighborhood: "n2", AtS: 70, FailoverMs: -1, BackMs: -1},
			{Kind: "kill", Neighborhood: "n2", AtS: 95, FailoverMs: 880, BackMs: 2900},
		},
		Errors: []string{},
	}
	dir := t.TempDir()
	if d := os.Getenv("GRIDMESH_ARTIFACTS"); d != "" {
		dir = d
	}
	path := filepath.Join(dir, "lab-report.html")
	if err := rep.WriteHTML(path); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	d, err := browsertest.Draw(ctx, "file://"+path)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Plots) != 2 {
		t.Errorf("%d plots, want the faults' and the failovers'", len(d.Plots))
	}
	for _, u := range d.Undrawn() {
		t.Error(u)
	}
	if err := browsertest.Screenshot(ctx, filepath.Join(dir, "lab-report.png")); err != nil {
		t.Fatal(err)
	}
	t.Logf("lab report %s: %d plots, %d figures", path, len(d.Plots), d.FigureRows)
}
