package control

import (
	"cmp"
	"math"
	"slices"

	"github.com/gridmesh/gridmesh"
)

// HomeState is what a neighborhood leader knows of one home, built by the
// caller from the home's telemetry.
type HomeState struct {
	// Home names the home; its setpoint carries the same ID.
	Home gridmesh.HomeID
	// BaseW is the home's net import with its battery idle.
	BaseW gridmesh.W
	// Battery is the home's battery flexibility.
	Battery gridmesh.Flexibility
}

// DispatchResult is the division of a neighborhood target among homes.
type DispatchResult struct {
	// Setpoints are sorted by home, one per usable distinct input home.
	Setpoints []gridmesh.Setpoint
	// ReachW is the sum of the setpoints' net imports.
	ReachW gridmesh.W
	// ShortfallW is target.ImportW - ReachW when the target is out of
	// reach (positive: the homes cannot import that much; negative: they
	// cannot export that much), and 0 when it is feasible.
	ShortfallW gridmesh.W
	// Feasible is true when the setpoints reach the target.
	Feasible bool
}

// Dispatch divides a neighborhood's target import among its homes by
// battery headroom. It is a pure function.
//
// Every battery starts at its self-consumption point
// s_i = clamp(-BaseW_i, MinW_i, MaxW_i). The battery power still needed is
// D = (target - Σ BaseW_i) - Σ s_i. If D > 0 it is spread over the homes in
// proportion to their upward headroom MaxW_i - s_i; if D < 0 in
// proportion to their downward headroom s_i - MinW_i. When |D| exceeds the
// total headroom every battery goes to its limit in that direction and
// the rest is the shortfall. Home i's setpoint is BaseW_i + b_i, and b_i
// never leaves [MinW_i, MaxW_i].
//
// Inputs are cleaned first, and the result does not depend on their
// order: homes whose ID fails Validate, whose Battery fails Validate, or
// whose BaseW is non-finite or beyond gridmesh.MaxHomePowerW are skipped;
// the rest are sorted by home, and of several states for one home only
// the first in a total order of all fields is kept (duplicates are a
// caller bug; this keeps the answer deterministic). With no usable home
// the shortfall is the whole target. A non-finite target is no target:
// every battery stays at its self-consumption point, Feasible is false
// and ShortfallW is 0.
//
// The caller keeps a neighborhood within gridmesh.MaxSetpoints homes, so
// the setpoints fit in a Plan.
func Dispatch(target gridmesh.Target, homes []HomeState) DispatchResult {
	hs := usableHomes(homes)
	b := make([]gridmesh.W, len(hs))
	var baseSum, selfSum gridmesh.W
	for i, h := range hs {
		b[i] = (-h.BaseW).Clamp(h.Battery.MinW, h.Battery.MaxW)
		baseSum += h.BaseW
		selfSum += b[i]
	}

	feasible := false
	if target.ImportW.Finite() {
		need := target.ImportW - baseSum - selfSum
		var room gridmesh.W
		for i, h := range hs {
			if need > 0 {
				room += h.Battery.MaxW - b[i]
			} else {
				room += b[i] - h.Battery.MinW
			}
		}
		feasible = math.Abs(float64(need)) <= float64(room)
		if need != 0 {
			share := gridmesh.W(1) // all the way to the limits
			if feasible {
				share = need / room
				if need < 0 {
					share = -share
				}
			}
			for i, h := range hs {
				if need > 0 {
					b[i] += (h.Battery.MaxW - b[i]) * share
				} else {
					b[i] -= (b[i] - h.Battery.MinW) * share
				}
				b[i] = b[i].Clamp(h.Battery.MinW, h.Battery.MaxW)
			}
		}
	}

	res := DispatchResult{Feasible: feasible}
	if len(hs) > 0 {
		res.Setpoints = make([]gridmesh.Setpoint, len(hs))
	}
	for i, h := range hs {
		res.Setpoints[i] = gridmesh.Setpoint{Home: h.Home, NetW: h.BaseW + b[i]}
		res.ReachW += res.Setpoints[i].NetW
	}
	if !feasible && target.ImportW.Finite() {
		res.ShortfallW = target.ImportW - res.ReachW
	}
	return res
}

// usableHomes returns the valid homes of hs, sorted by home, one state
// per home.
func usableHomes(hs []HomeState) []HomeState {
	out := make([]HomeState, 0, len(hs))
	for _, h := range hs {
		if h.Home.Validate() != nil || h.Battery.Validate() != nil || !h.BaseW.Finite() ||
			math.Abs(float64(h.BaseW)) > float64(gridmesh.MaxHomePowerW) {
			continue
		}
		out = append(out, h)
	}
	slices.SortFunc(out, compareHomeStates)
	return slices.CompactFunc(out, func(a, b HomeState) bool { return a.Home == b.Home })
}

// compareHomeStates orders by home, then by every other field, so that
// sorting gives one order whatever the input order.
func compareHomeStates(a, b HomeState) int {
	return cmp.Or(
		cmp.Compare(a.Home, b.Home),
		compareFloat(float64(a.BaseW), float64(b.BaseW)),
		compareFlexibility(a.Battery, b.Battery),
	)
}

// compareFlexibility orders two batteries' flexibility field by field.
func compareFlexibility(x, y gridmesh.Flexibility) int {
	return cmp.Or(
		compareFloat(float64(x.PowerW), float64(y.PowerW)),
		compareFloat(float64(x.MinW), float64(y.MinW)),
		compareFloat(float64(x.MaxW), float64(y.MaxW)),
		compareFloat(x.SoC, y.SoC),
		compareFloat(float64(x.CapacityWh), float64(y.CapacityWh)),
		compareFloat(float64(x.ChargeWh), float64(y.ChargeWh)),
		compareFloat(float64(x.DischargeWh), float64(y.DischargeWh)),
	)
}

// compareFloat is cmp.Compare with -0 ordered before +0, a total order
// on the finite floats usableHomes lets through.
func compareFloat(a, b float64) int {
	return cmp.Or(cmp.Compare(a, b), cmp.Compare(math.Float64bits(b), math.Float64bits(a)))
}
