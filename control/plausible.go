package control

import "github.com/gridmesh/gridmesh"

// DefaultPlausibleHomeW bounds the power a leader believes of one home's
// report. Why 25 kW: the grid connection of most homes is smaller (3 ×
// 32 A at 230 V is 22 kW; a US 100 A service at 240 V is 24 kW), and no
// home battery, charger or heat pump moves more than its connection. A
// home with a larger service sets its own bound (node.Config).
const DefaultPlausibleHomeW gridmesh.W = 25_000

// Plausible bounds what a report claims: net and base import, the
// battery's power and its range, each within ±boundW. A member that lies
// (a compromised box claiming 50 kW of flexibility it does not have) can
// then steer the plan by at most boundW, like any home at its
// connection's limit. It returns the bounded report and whether anything
// was cut.
func Plausible(t gridmesh.Telemetry, boundW gridmesh.W) (gridmesh.Telemetry, bool) {
	cut := false
	clamp := func(w *gridmesh.W) {
		if c := w.Clamp(-boundW, boundW); c != *w {
			*w, cut = c, true
		}
	}
	clamp(&t.NetW)
	clamp(&t.BaseW)
	clamp(&t.Battery.PowerW)
	clamp(&t.Battery.MinW)
	clamp(&t.Battery.MaxW)
	return t, cut
}
