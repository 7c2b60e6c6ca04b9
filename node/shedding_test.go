package node_test

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/node"
)

// Homes that judge their process overloaded from their first tick (any
// lateness of a tick is a sign) thin their telemetry: every change of
// their figures waits for the heartbeat. The heartbeat alone keeps them
// in the leader's plans: every home follows a setpoint of its own from a
// plan made many heartbeats after thinning began.
func TestThinnedHomesKeepTheirPlans(t *testing.T) {
	t.Parallel() // real clocks: a tick's lateness is real time
	homes := startNeighborhood(t, nil, 4, 3, func(_ int, c *node.Config) {
		c.Shedding = control.SheddingConfig{LoopLateMax: time.Nanosecond, PublishMax: time.Nanosecond, Calm: time.Hour}
		// No deadband: every change of a figure would be reported, so a
		// thinned home withholds every one.
		c.Report = control.ReportConfig{Heartbeat: 2 * c.TelemetryPeriod, Period: c.TelemetryPeriod}
	})
	for _, h := range homes {
		h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 500})
	}
	waitFor(t, "every home thinning, and changes withheld", time.Minute, func() bool {
		withheld := uint64(0)
		for _, h := range homes {
			c := h.n.Status().Counters
			if c["telemetry_thinned_ms"] == 0 {
				return false
			}
			withheld += c["telemetry_withheld"]
		}
		return withheld > 0
	})
	var since uint64
	for _, h := range homes {
		if st := h.n.Status(); st.IsLeader {
			since = st.CommittedEpoch.Index
		}
	}
	// Ten plan periods: five heartbeats.
	const later = 10
	waitFor(t, "every home following its setpoint in a plan made five heartbeats later", time.Minute, func() bool {
		for _, h := range homes {
			st := h.n.Status()
			if st.Mode != control.ModePlan.String() || st.PlanEpoch.Index < since+later {
				return false
			}
		}
		return true
	})
	for _, h := range homes {
		c := h.n.Status().Counters
		if c["reports_published"] == 0 {
			t.Errorf("%s published no report", h.n.Home())
		}
	}
}
