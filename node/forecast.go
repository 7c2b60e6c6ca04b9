package node

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// ReserveConfig makes the leader keep battery energy back ahead of the
// evening peak: from Lookahead before PeakStartHour until the peak
// starts, each battery may discharge only what it holds above its share
// of the energy the neighborhood will need to cover the peak's deficit
// (control.ReserveAhead on a forecast: PV from clear sky times recent
// clearness, load from the same hours of recent days). The zero value
// (Lookahead 0) keeps no reserve.
type ReserveConfig struct {
	// PeakStartHour and PeakEndHour bound the evening peak, in hours of
	// the day (device time, UTC).
	PeakStartHour, PeakEndHour float64
	// Lookahead is how long before the peak the reserve is held.
	Lookahead time.Duration
	// PV places and sizes the neighborhood's PV for the clear-sky model.
	PV control.PVModel
	// Days of history the load forecast averages over.
	Days int
}

// DefaultReserveConfig holds a reserve for 17:00-21:00 from 11:00, with
// three days of history: the evening peak of a European household, and
// the sunny hours before it in which PV can fill what the reserve holds
// back.
func DefaultReserveConfig(pv control.PVModel) ReserveConfig {
	return ReserveConfig{PeakStartHour: 17, PeakEndHour: 21, Lookahead: 6 * time.Hour, PV: pv, Days: 3}
}

// Validate checks the window and the PV model when enabled.
func (c ReserveConfig) Validate() error {
	if c.Lookahead == 0 {
		return nil
	}
	switch {
	case c.Lookahead < 0 || c.Lookahead > 24*time.Hour:
		return fmt.Errorf("lookahead %v outside (0, 24h]", c.Lookahead)
	case !(c.PeakStartHour >= 0 && c.PeakStartHour < c.PeakEndHour && c.PeakEndHour <= 24):
		return fmt.Errorf("peak %v-%v h not within a day", c.PeakStartHour, c.PeakEndHour)
	case c.Days < 1 || c.Days > 14:
		return fmt.Errorf("days %d outside [1, 14]", c.Days)
	}
	return c.PV.Validate()
}

// Forecast history: one neighborhood sample every historyStep of device
// time (the forecast's slot), at most historyLen (14 days).
const (
	historyStep = 15 * time.Minute
	historyLen  = 14 * 24 * 4
)

// forecastHistory is the leader's record of its neighborhood's load and
// PV. Owned by the dispatch goroutine.
type forecastHistory struct {
	load, pv []control.Sample
}

func (h *forecastHistory) add(at time.Time, loadW, pvW gridmesh.W) {
	if n := len(h.load); n > 0 && at.UnixMilli()-h.load[n-1].AtMs < historyStep.Milliseconds() {
		return
	}
	h.load = append(h.load, control.Sample{AtMs: at.UnixMilli(), W: loadW})
	h.pv = append(h.pv, control.Sample{AtMs: at.UnixMilli(), W: pvW})
	if len(h.load) > historyLen {
		h.load, h.pv = h.load[1:], h.pv[1:]
	}
}

// errNoWindow: now is not within Lookahead before a peak.
var errNoWindow = errors.New("no peak ahead")

// reserveWh is the energy the neighborhood should hold at the start of
// the next peak, if now is within cfg.Lookahead before it.
func (h *forecastHistory) reserveWh(cfg ReserveConfig, now time.Time, maxDischargeW gridmesh.W) (gridmesh.Wh, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	start := day.Add(time.Duration(cfg.PeakStartHour * float64(time.Hour)))
	end := day.Add(time.Duration(cfg.PeakEndHour * float64(time.Hour)))
	if !now.Before(start) {
		start, end = start.Add(24*time.Hour), end.Add(24*time.Hour)
	}
	if start.Sub(now) > cfg.Lookahead || len(h.load) == 0 {
		return 0, errNoWindow
	}
	clear, ok := cfg.PV.Clearness(h.pv)
	if !ok {
		clear = 1
	}
	fc, err := control.ForecastNet(cfg.PV, clear, h.load, cfg.Days, start, end, historyStep)
	if err != nil {
		return 0, err
	}
	return control.ReserveAhead(fc, control.ReserveWindow{
		Start: start, End: end, MaxDischargeW: maxDischargeW, Efficiency: reserveEfficiency,
	})
}

// reserveEfficiency is a home battery's discharge efficiency, √0.9 of a
// 90 % round trip.
var reserveEfficiency = math.Sqrt(0.9)

// holdReserve shares reserveWh among the homes in proportion to their
// capacity and takes each home's share out of what its battery may
// deliver: DischargeWh falls by the share and, once nothing is left above
// it, the battery may not discharge (MinW 0). It is a pure function.
func holdReserve(homes []control.HomeState, reserveWh gridmesh.Wh) []control.HomeState {
	var capacity gridmesh.Wh
	for _, h := range homes {
		capacity += h.Battery.CapacityWh
	}
	if !(reserveWh > 0) || capacity <= 0 {
		return homes
	}
	out := make([]control.HomeState, len(homes))
	for i, h := range homes {
		share := min(reserveWh, capacity) * h.Battery.CapacityWh / capacity
		b := &h.Battery
		b.DischargeWh = max(b.DischargeWh-share, 0)
		if b.DischargeWh == 0 {
			b.MinW = 0
			b.PowerW = max(b.PowerW, 0)
		}
		out[i] = h
	}
	return out
}

// holdReserve records the neighborhood's load and PV for the forecast
// and, ahead of the evening peak, holds its reserve back (see
// ReserveConfig). Called from the dispatch goroutine only.
func (n *Node) holdReserve(now time.Time, reports []gridmesh.Telemetry, homes []control.HomeState) []control.HomeState {
	cfg := n.cfg.Reserve
	if cfg.Lookahead == 0 {
		return homes
	}
	devNow := now
	if n.deps.DeviceNow != nil {
		devNow = n.deps.DeviceNow()
	}
	var loadW, pvW, maxDischargeW gridmesh.W
	for _, t := range reports {
		pv := gridmesh.W(0)
		if t.Loads != nil {
			pv = t.Loads.PVW
		}
		loadW += t.BaseW + pv
		pvW += pv
		maxDischargeW -= t.Battery.MinW
	}
	n.history.add(devNow, loadW, pvW)
	r, err := n.history.reserveWh(cfg, devNow, maxDischargeW)
	if err != nil {
		return homes
	}
	return holdReserve(homes, r)
}
