package testnet

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
)

// ForecastSkillReport is the skill of the forecast the island's
// rationing makes (node.ForecastHome: the same forecast, on the same kind
// of record) on the run's own series: each neighborhood's critical load
// and PV produced, summed over its live homes as its leader records them,
// taken every forecastStep of simulated time. From every hour of
// simulated time after the first sample, each neighborhood forecasts the
// next forecastHorizon (or what of it the run recorded) from what was
// recorded until then, and every forecast step is compared with what came;
// the skill is 1 − RMSE of the forecast / RMSE of persistence (the last
// recorded value held), pooled over the neighborhoods and origins: 1 is
// perfect, 0 no better than persistence. A skill is absent when
// persistence was itself perfect (or nothing was compared).
type ForecastSkillReport struct {
	// Load is the critical load's skill, PV the PV's.
	Load *float64 `json:"load,omitempty"`
	PV   *float64 `json:"pv,omitempty"`
	// Origins is how many forecasts were made, Steps how many forecast
	// steps were compared.
	Origins int `json:"origins"`
	Steps   int `json:"steps"`
	// RecordedH is the simulated time the series cover, in hours.
	RecordedH float64 `json:"recorded_h"`
}

const (
	// forecastStep is the record's step: the leaders' history step
	// (control.HistoryStep), one sample every quarter of an hour.
	forecastStep = 15 * time.Minute
	// forecastHorizon is the rationing's default horizon
	// (control.DefaultRationHorizon): a day.
	forecastHorizon = 24 * time.Hour
	// forecastEvery is how often an origin is taken: every hour.
	forecastEvery = 4 // steps
)

// forecastRec records each neighborhood's critical load and PV on the
// forecastStep grid of simulated time: the first sample at or after each
// grid instant, stamped with the latest instant it has passed. Owned by
// the run's goroutine.
type forecastRec struct {
	rows [][]node.ForecastRow // per neighborhood, on the grid, oldest first
	next []time.Time          // the next grid instant to record, per neighborhood
	pv   []node.PVModel       // each neighborhood's arrays, as its leaders model them
}

func newForecastRec(c *city) *forecastRec {
	fr := &forecastRec{rows: make([][]node.ForecastRow, len(c.nbhds)), next: make([]time.Time, len(c.nbhds))}
	for _, nb := range c.nbhds {
		var m node.PVModel
		if len(nb.homes) > 0 {
			m = nb.homes[0].cfg.Reserve.PV
		}
		fr.pv = append(fr.pv, m)
	}
	return fr
}

// sample records neighborhood k's live homes if simulated time has
// reached its next grid instant.
func (fr *forecastRec) sample(k int, nb *neighborhood) {
	var crit, pv gridmesh.W
	var at time.Time
	for _, h := range nb.homes {
		if !h.alive.Load() {
			continue
		}
		s := h.dev.Snapshot()
		crit, pv, at = crit+max(s.CriticalW, 0), pv+max(s.PVW, 0), s.At
	}
	if at.IsZero() {
		return
	}
	if at.Before(fr.next[k]) {
		return
	}
	grid := at.Truncate(forecastStep)
	fr.rows[k] = append(fr.rows[k], node.ForecastRow{TimeS: float64(grid.UnixMilli()) / 1000, LoadW: crit, PVW: pv})
	fr.next[k] = grid.Add(forecastStep)
}

// report is the skill over what was recorded; nil when no forecast could
// be compared (a run shorter than two steps of simulated time).
func (fr *forecastRec) report() *ForecastSkillReport {
	var la, lf, lp, pa, pf, pp []float64
	rep := &ForecastSkillReport{}
	for k, rows := range fr.rows {
		if n := len(rows); n > 1 {
			rep.RecordedH = max(rep.RecordedH, (rows[n-1].TimeS-rows[0].TimeS)/3600)
		}
		at := make(map[float64]node.ForecastRow, len(rows)) // what came, by its grid instant
		for _, r := range rows {
			at[r.TimeS] = r
		}
		for origin := 1; origin < len(rows); origin += forecastEvery {
			fc, err := node.ForecastHome(rows[:origin], fr.pv[k], forecastHorizon)
			if err != nil {
				continue // cannot happen: rows are finite and in order
			}
			rep.Origins++
			last := rows[origin-1]
			for _, f := range fc {
				got, ok := at[f.TimeS]
				if !ok {
					continue // not recorded: past the run, or a gap
				}
				la, lf, lp = append(la, float64(got.LoadW)), append(lf, float64(f.LoadW)), append(lp, float64(last.LoadW))
				pa, pf, pp = append(pa, float64(got.PVW)), append(pf, float64(f.PVW)), append(pp, float64(last.PVW))
			}
		}
	}
	if len(la) == 0 {
		return nil
	}
	rep.Steps = len(la)
	rep.Load, rep.PV = finite(node.ForecastSkill(la, lf, lp)), finite(node.ForecastSkill(pa, pf, pp))
	return rep
}

// finite is &v, or nil when v is not a finite number.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
