package testnet

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
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
