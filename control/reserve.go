package control

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// ReserveConfig makes a neighborhood's leader keep battery energy back
// ahead of the evening peak: from Lookahead before PeakStartHour until the
// peak starts, each battery may discharge only what it holds above its
// share of the energy the neighborhood will need to cover the peak's
// deficit (ReserveAhead on a forecast: PV from clear sky times recent
// clearness, load from the same hours of recent days). The zero value
// (Lookahead 0) keeps no reserve.
type ReserveConfig struct {
	// PeakStartHour and PeakEndHour bound the evening peak, in hours of
	// the day (device time, UTC).
	PeakStartHour, PeakEndHour float64
	// Lookahead is how long before the peak the reserve is held.
	Lookahead time.Duration
	// PV places and sizes the neighborhood's PV for the clear-sky model.
	PV PVModel
	// Days of history the load forecast averages over.
	Days int
}

// DefaultReserveConfig holds a reserve for 17:00-21:00 from 11:00, with
// three days of history: the evening peak of a European household, and
// the sunny hours before it in which PV can fill what the reserve holds
// back.
func DefaultReserveConfig(pv PVModel) ReserveConfig {
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
	case c.Days < 1 || c.Days > MaxHistoryDays:
		return fmt.Errorf("days %d outside [1, %d]", c.Days, MaxHistoryDays)
	}
	return c.PV.Validate()
}

// Forecast history: one neighborhood sample every HistoryStep of device
// time (the forecast's slot: a quarter hour is the settlement period of
// European markets and smooths a kettle out of the load), at most
// MaxHistoryDays (two weeks: the load forecast averages the same hours of
// recent days, and a fortnight covers both weekdays and weekends).
const (
	HistoryStep    = 15 * time.Minute
	MaxHistoryDays = 14
	historyLen     = MaxHistoryDays * int(24*time.Hour/HistoryStep)
)

// ForecastHistory is a leader's record of its neighborhood's load and PV,
// the forecast's input. The zero value is empty; it is not safe for
// concurrent use.
type ForecastHistory struct {
	Load, PV []Sample
}

// Add records a sample at at, unless the last is less than HistoryStep
// older; past MaxHistoryDays the oldest goes.
func (h *ForecastHistory) Add(at time.Time, loadW, pvW gridmesh.W) {
	if n := len(h.Load); n > 0 && at.UnixMilli()-h.Load[n-1].AtMs < HistoryStep.Milliseconds() {
		return
	}
	h.Load = append(h.Load, Sample{AtMs: at.UnixMilli(), W: loadW})
	h.PV = append(h.PV, Sample{AtMs: at.UnixMilli(), W: pvW})
	if len(h.Load) > historyLen {
		h.Load, h.PV = h.Load[1:], h.PV[1:]
	}
}

// ErrNoPeakAhead is returned by ReserveWh when now is not within the
// lookahead before a peak, or there is no history yet.
var ErrNoPeakAhead = errors.New("control: no peak ahead")

// ReserveEfficiency is a home battery's discharge efficiency, √0.9 of a
// 90 % round trip: the reserve covers the peak's deficit after losses.
var ReserveEfficiency = math.Sqrt(0.9)

// ReserveWh is the energy the neighborhood should hold at the start of
// the next peak, if now is within cfg.Lookahead before it; maxDischargeW
// is the most its batteries can discharge together.
func (h *ForecastHistory) ReserveWh(cfg ReserveConfig, now time.Time, maxDischargeW gridmesh.W) (gridmesh.Wh, error) {
	start, end := NextPeak(cfg, now)
	if start.Sub(now) > cfg.Lookahead || len(h.Load) == 0 {
		return 0, ErrNoPeakAhead
	}
	clear, ok := cfg.PV.Clearness(h.PV)
	if !ok {
		clear = 1
	}
	fc, err := ForecastNet(cfg.PV, clear, h.Load, cfg.Days, start, end, HistoryStep)
	if err != nil {
		return 0, err
	}
	return ReserveAhead(fc, ReserveWindow{
		Start: start, End: end, MaxDischargeW: maxDischargeW, Efficiency: ReserveEfficiency,
	})
}

// NextPeak is the peak cfg names that starts after now: today's, or
// tomorrow's once today's has started.
func NextPeak(cfg ReserveConfig, now time.Time) (start, end time.Time) {
	day := now.UTC().Truncate(24 * time.Hour)
	start = day.Add(time.Duration(cfg.PeakStartHour * float64(time.Hour)))
	end = day.Add(time.Duration(cfg.PeakEndHour * float64(time.Hour)))
	if !now.Before(start) {
		start, end = start.Add(24*time.Hour), end.Add(24*time.Hour)
	}
	return start, end
}

// HoldReserve shares reserveWh among the homes in proportion to their
// capacity and takes each home's share out of what its battery may
// deliver: DischargeWh falls by the share and, once nothing is left above
// it, the battery may not discharge (MinW 0). homes is not modified.
func HoldReserve(homes []HomeState, reserveWh gridmesh.Wh) []HomeState {
	var capacity gridmesh.Wh
	for _, h := range homes {
		capacity += h.Battery.CapacityWh
	}
	if !(reserveWh > 0) || capacity <= 0 {
		return homes
	}
	out := make([]HomeState, len(homes))
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

// NeighborhoodSample is what a leader records of its neighborhood for the
// forecast from its homes' reports: the load (each home's base load plus
// its PV, which the base load nets out), the PV, and the most the
// batteries can discharge together.
func NeighborhoodSample(reports []gridmesh.Telemetry) (loadW, pvW, maxDischargeW gridmesh.W) {
	for _, t := range reports {
		pv := gridmesh.W(0)
		if t.Loads != nil {
			pv = t.Loads.PVW
		}
		loadW += t.BaseW + pv
		pvW += pv
		maxDischargeW -= t.Battery.MinW
	}
	return loadW, pvW, maxDischargeW
}

// Reserve records the neighborhood's sample in h and, ahead of the peak
// cfg names, holds its reserve back from homes (HoldReserve); otherwise,
// or with cfg's Lookahead 0, it returns homes as they are. now is device
// time.
func Reserve(cfg ReserveConfig, h *ForecastHistory, now time.Time, reports []gridmesh.Telemetry, homes []HomeState) []HomeState {
	if cfg.Lookahead == 0 {
		return homes
	}
	loadW, pvW, maxDischargeW := NeighborhoodSample(reports)
	h.Add(now, loadW, pvW)
	r, err := h.ReserveWh(cfg, now, maxDischargeW)
	if err != nil {
		return homes
	}
	return HoldReserve(homes, r)
}
