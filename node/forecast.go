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
// (control.Reserve). Called from the dispatch goroutine only: it owns
// n.history.
func (n *Node) holdReserve(now time.Time, reports []gridmesh.Telemetry, homes []control.HomeState) []control.HomeState {
	devNow := now
	if n.deps.DeviceNow != nil {
		devNow = n.deps.DeviceNow()
	}
	return control.Reserve(n.cfg.Reserve, &n.history, devNow, reports, homes)
}

// forecastHistory is the leader's record of its neighborhood's load and
// PV (Node.history). Owned by the dispatch goroutine.
type forecastHistory = control.ForecastHistory
