package gridmesh

import (
	"fmt"
	"math"
)

// W is a power in watts, in the load convention (see the package doc).
type W float64

// Wh is an energy in watt-hours.
type Wh float64

// Finite reports whether w is a usable number (not NaN or ±Inf).
func (w W) Finite() bool { return !math.IsNaN(float64(w)) && !math.IsInf(float64(w), 0) }

// Clamp returns w limited to [lo, hi]. lo must not exceed hi.
func (w W) Clamp(lo, hi W) W { return min(max(w, lo), hi) }

// String formats the power with a unit, in kW from 10 kW up.
func (w W) String() string {
	if math.Abs(float64(w)) >= 10_000 {
		return fmt.Sprintf("%.1fkW", float64(w)/1000)
	}
	return fmt.Sprintf("%.0fW", float64(w))
}

// Finite reports whether e is a usable number (not NaN or ±Inf).
func (e Wh) Finite() bool { return !math.IsNaN(float64(e)) && !math.IsInf(float64(e), 0) }
