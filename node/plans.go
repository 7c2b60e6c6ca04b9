package node

import (
	"context"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
)

// receivePlans hands every validated plan to the device loop. The loop's
// queue is bounded; when it is full the plan is dropped and counted (the
// leader sends a newer plan every period, so nothing is lost for long).
func (n *Node) receivePlans(ctx context.Context, out chan<- gridmesh.Plan) error {
	for {
		p, _, err := n.nbhd.NextPlan(ctx)
		n.hold(ctx)
		if err != nil {
			return err
		}
		select {
		case out <- p:
		default:
			n.stats.plansDropped.Add(1)
		}
	}
}

// beaconPlansFresh is how many plan periods a plan from the leader's
// beacon keeps a home outside the configuration off the plan topic:
// three, so that a beacon or two lost costs nothing. A home whose leader
// fell silent hears the next leader's beacon (with its plans) as soon as
// that leader plans, if the leader heard of it; if not, it is back on
// the topic about when its plan's lease (3 s by default) runs out, and
// follows the plans gossip brings it once a beacon names the leader.
const beaconPlansFresh = 3

// listenPlans keeps this home subscribed to the plan topic unless it is
// outside the Raft configuration and its leader's beacons bring it plans
// (mesh.Neighborhood.DeliverPlan): then the topic's copies of the same
// plans are only cost. Members (the voters and standbys: no beacons) and
// homes without beacons stay on the topic. Called from listenTelemetry's
// loop.
func (n *Node) listenPlans(in consensus.ListenInput, now time.Time) {
	last := n.nbhd.PlanTraffic().Last
	outside := !in.Members[n.id.String()]
	fresh := !last.IsZero() && now.Sub(last) < beaconPlansFresh*n.cfg.PlanPeriod
	if err := n.nbhd.SubscribePlans(!(outside && fresh)); err != nil {
		n.log.Warn("plan subscription", "err", err)
	}
}
