package control

import "github.com/gridmesh/gridmesh"

// Reading is what the loop sees of its home at one instant: the grid
// meter and the battery.
type Reading struct {
	// NetW is the net import at the grid meter.
	NetW gridmesh.W
	// FrequencyHz is the grid frequency at the meter; 0 when not measured,
	// which the loop answers with no droop (see Droop).
	FrequencyHz float64
	// Battery is the battery's flexibility, including the power it
	// delivers now.
	Battery gridmesh.Flexibility
}

// BaseW is what the home would import with its battery idle: the meter
// less the battery's own power. It needs no load or PV sensor.
func (r Reading) BaseW() gridmesh.W { return r.NetW - r.Battery.PowerW }

// usable reports whether the figures the loop computes with are finite
// and within gridmesh.MaxHomePowerW, and the battery's range contains 0.
func (r Reading) usable() bool {
	for _, w := range []gridmesh.W{r.NetW, r.Battery.PowerW, r.Battery.MinW, r.Battery.MaxW} {
		if !w.Finite() || w < -gridmesh.MaxHomePowerW || w > gridmesh.MaxHomePowerW {
			return false
		}
	}
	return r.Battery.MinW <= 0 && r.Battery.MaxW >= 0
}
