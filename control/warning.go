package control

import (
	"time"

	"github.com/gridmesh/gridmesh"
)

// Outage warnings (gridmesh.SignalOutageWarning): the operator expects the
// region to lose the grid over a stated window. From the moment a leader
// sees the warning until the window ends, it keeps every battery's stored
// energy (WarningReserve: the batteries may charge, not discharge) and
// imports enough to charge them at their most (WarningTarget), so that
// its homes meet the outage as full as the time before it allows;
// islanded, it rations over what remains of the stated window
// (WarnedHorizon) instead of DefaultRationHorizon.

// OutageWarned returns the outage warning that stands in view v at now:
// of each warning ID its newest step, unless that step withdrew it
// (AmountW 0) or its window has ended; of several, the one that ends last
// (the longest the region must last). ok is false when none stands.
func OutageWarned(v RegionView, now time.Time) (w gridmesh.Signal, ok bool) {
	for _, st := range newestSignals(v.Signals, now) {
		s := st.Signal
		if s.Kind != gridmesh.SignalOutageWarning || s.AmountW <= 0 || !now.Before(s.End()) {
			continue
		}
		if !ok || s.EndMs > w.EndMs || s.EndMs == w.EndMs && s.ID < w.ID {
			w, ok = s, true
		}
	}
	return w, ok
}

// WarningReserve holds back all the energy homes' batteries store
// (HoldReserve of their whole capacity) while warning w stands (ok):
// none may discharge, every one may still charge. Without a warning it
// returns homes as they are. homes is not modified.
func WarningReserve(ok bool, homes []HomeState) []HomeState {
	if !ok {
		return homes
	}
	var capacity gridmesh.Wh
	for _, h := range homes {
		capacity += h.Battery.CapacityWh
	}
	return HoldReserve(homes, capacity)
}

// WarningTarget is the neighborhood's import target while warning w
// stands (ok): at least what carries its homes' base load and charges
// every battery at its most (Σ BaseW + Battery.MaxW of the valid homes),
// so that the batteries meet the outage full, not merely as full as they
// were when the warning came; the grid is still there to charge them
// from. Without a warning it returns t as it is. Seq is kept: the target
// is the same request, met from a fuller grid.
func WarningTarget(t gridmesh.Target, ok bool, homes []HomeState) gridmesh.Target {
	if !ok {
		return t
	}
	var needW gridmesh.W
	for _, h := range usableHomes(homes) {
		needW += h.BaseW + max(h.Battery.MaxW, 0)
	}
	if !t.ImportW.Finite() || t.ImportW < needW {
		t.ImportW = needW
	}
	return t
}

// WarnedHorizon is the rationing horizon of an island at wall time now:
// what remains of warning w's window, in the devices' time (deviceRate
// device seconds pass per wall second: 1 but in a testnet that runs its
// devices faster), at least one DefaultRationConfig step; without a
// standing warning (ok false), or once it has ended, DefaultRationHorizon.
// A rate that is not positive and finite counts as 1.
func WarnedHorizon(w gridmesh.Signal, ok bool, now time.Time, deviceRate float64) time.Duration {
	if !ok || !now.Before(w.End()) {
		return DefaultRationHorizon
	}
	if !(deviceRate > 0 && deviceRate < 1e6) {
		deviceRate = 1
	}
	left := time.Duration(float64(w.End().Sub(now)) * deviceRate)
	return max(left, DefaultRationConfig().Step)
}

// DeviceRate is how many device seconds passed per wall second between
// two readings of both clocks, (wall0, dev0) and (wall, dev): 1 until a
// second of wall time separates them, or when the clocks went backwards.
func DeviceRate(wall0, dev0, wall, dev time.Time) float64 {
	dw, dd := wall.Sub(wall0), dev.Sub(dev0)
	if dw < time.Second || dd <= 0 {
		return 1
	}
	return float64(dd) / float64(dw)
}
