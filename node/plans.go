package node

import (
	"context"

	"github.com/gridmesh/gridmesh"
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
