package node

import (
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// ReserveConfig is control.ReserveConfig: Config.Reserve names it here so
// that a home file and a Config keep one spelling.
type ReserveConfig = control.ReserveConfig

// DefaultReserveConfig is control.DefaultReserveConfig.
func DefaultReserveConfig(pv control.PVModel) ReserveConfig {
	return control.DefaultReserveConfig(pv)
}

// holdReserve records the neighborhood's load and PV for the forecast
// and, ahead of the evening peak, holds its reserve back
// (control.Reserve); while an outage warning stands, it keeps all the
// batteries' energy (control.WarningReserve) and raises the target to
// charge them at their most (control.WarningTarget). Called from the
// dispatch goroutine only: it owns n.history.
func (n *Node) holdReserve(now time.Time, target gridmesh.Target, reports []gridmesh.Telemetry, homes []control.HomeState) (gridmesh.Target, []control.HomeState) {
	homes = control.Reserve(n.cfg.Reserve, &n.history, n.deviceNowAt(now), reports, homes)
	_, warned := control.OutageWarned(n.region.snapshot(now), now)
	homes = control.WarningReserve(warned, homes)
	return control.WarningTarget(target, warned, homes), homes
}

// deviceNowAt is the device clock (Deps.DeviceNow) read at wall time now;
// the first reading is kept for deviceRate. Called from the dispatch
// goroutine only: it owns n.clocks0.
func (n *Node) deviceNowAt(now time.Time) time.Time {
	dev := now
	if n.deps.DeviceNow != nil {
		dev = n.deps.DeviceNow()
	}
	if n.clocks0.wall.IsZero() {
		n.clocks0.wall, n.clocks0.dev = now, dev
	}
	return dev
}

// deviceRate is how fast the device clock has run against the wall clock
// since the first reading (control.DeviceRate). Called from the dispatch
// goroutine only.
func (n *Node) deviceRate(now, dev time.Time) float64 {
	return control.DeviceRate(n.clocks0.wall, n.clocks0.dev, now, dev)
}

// forecastHistory is the leader's record of its neighborhood's load and
// PV (Node.history). Owned by the dispatch goroutine.
type forecastHistory = control.ForecastHistory

// PVModel is control.PVModel: an array placed and sized for the
// clear-sky model.
type PVModel = control.PVModel

// ForecastRow is one step of a home's history or forecast: seconds, load
// and PV.
type ForecastRow struct {
	TimeS      float64
	LoadW, PVW gridmesh.W
}

// ForecastHome is the forecast an island's rationing would make from a
// home's own history (control.ForecastHomeHistory): load and PV from the
// step after the last row, over horizon. pv places and sizes the array
// for the clear-sky model; a zero peak forecasts PV from the same hours
// of recent days instead.
func ForecastHome(history []ForecastRow, pv control.PVModel, horizon time.Duration) ([]ForecastRow, error) {
	load, pvs := make([]control.Sample, len(history)), make([]control.Sample, len(history))
	for i, r := range history {
		ms := int64(r.TimeS * 1000)
		load[i], pvs[i] = control.Sample{AtMs: ms, W: r.LoadW}, control.Sample{AtMs: ms, W: r.PVW}
	}
	cfg := control.DefaultRationConfig()
	from, fc, err := control.ForecastHomeHistory(load, pvs, pv, horizon, cfg)
	if err != nil {
		return nil, err
	}
	out := make([]ForecastRow, len(fc.CriticalW))
	for i := range out {
		t := from.Add(time.Duration(i) * cfg.Step)
		out[i] = ForecastRow{TimeS: float64(t.UnixMilli()) / 1000, LoadW: fc.CriticalW[i], PVW: fc.PVW[i]}
	}
	return out, nil
}

// ForecastSkill is control.ForecastSkill: a forecast's skill against
// persistence over the same actual values (1 − RMSE / RMSE of
// persistence; NaN when persistence is perfect or the lengths differ).
func ForecastSkill(actual, forecast, persistence []float64) float64 {
	return control.ForecastSkill(actual, forecast, persistence)
}
