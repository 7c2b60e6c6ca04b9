package testnet

import (
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
)

// Every home's island rationing forecasts its neighborhood's PV from the
// clear-sky model of the neighborhood's arrays: the city's place and the
// arrays' summed peak, not a zero peak (which leaves the forecast to the
// same hours of recent days, none in a run's first day).
func TestHomesForecastTheirNeighborhoodsPV(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Homes, cfg.Neighborhoods = 6, 2
	c, err := newCity(cfg, nil, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	for _, nb := range c.nbhds {
		var peak gridmesh.W
		for _, h := range nb.homes {
			peak += h.params.PV.PeakW
		}
		for _, h := range nb.homes {
			if got := h.cfg.Reserve.PV; got != cityPVModel(peak) || peak <= 0 {
				t.Errorf("%s: PV model %+v, want %+v", h.id, got, cityPVModel(peak))
			}
		}
	}
}

// The skill report compares each forecast step with the recorded value
// of the same instant: a neighborhood whose critical load and PV repeat
// day after day is forecast better than persistence once a day is
// recorded, and a series too short to forecast gives no report.
func TestForecastSkillOnARepeatingDay(t *testing.T) {
	pv := cityPVModel(3500)
	start := time.Date(2026, 1, 14, 0, 0, 0, 0, time.UTC)
	fr := &forecastRec{rows: make([][]node.ForecastRow, 1), next: make([]time.Time, 1), pv: []node.PVModel{pv}}
	if fr.report() != nil {
		t.Fatal("a report from nothing recorded")
	}
	for i := range 3 * 96 {
		at := start.Add(time.Duration(i) * forecastStep)
		h := float64(at.Hour()) + float64(at.Minute())/60
		load := gridmesh.W(200 + 800*math.Exp(-(h-19)*(h-19)/4))
		fr.rows[0] = append(fr.rows[0], node.ForecastRow{TimeS: float64(at.Unix()), LoadW: load, PVW: pv.ClearSkyW(at) / 2})
	}
	rep := fr.report()
	if rep == nil || rep.Load == nil || rep.PV == nil {
		t.Fatalf("report %+v", rep)
	}
	if *rep.Load <= 0.5 || *rep.PV <= 0.5 {
		t.Errorf("skill on a repeating day: load %.3f, PV %.3f; want both above 0.5", *rep.Load, *rep.PV)
	}
	if want := 3 * 96 / forecastEvery; rep.Origins != want || rep.RecordedH != 72-0.25 {
		t.Errorf("%d origins over %v h, want %d over 71.75", rep.Origins, rep.RecordedH, want)
	}
}
