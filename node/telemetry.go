package node

import (
	"context"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
)

// publishTelemetry reports the loop's newest reading every
// TelemetryPeriod, and at once when formation asks (reportNow). A failed
// publish is counted and the next period tries again: telemetry is a
// stream, a lost report is replaced by the next.
func (n *Node) publishTelemetry(ctx context.Context) error {
	ticker := time.NewTicker(n.cfg.TelemetryPeriod)
	defer ticker.Stop()
	var seq uint64
	for {
		// Without a meter and battery reading the home cannot say what it
		// draws or can give: it reports that it has no reading (the leader
		// plans without it, and keeps it as a member and voter) rather
		// than a false figure, or nothing.
		if snap := n.stats.loop.Load(); snap != nil {
			seq++
			t := gridmesh.Telemetry{
				Version:      gridmesh.WireVersion,
				Home:         n.cfg.Home,
				Neighborhood: n.cfg.Neighborhood,
				Seq:          seq,
				AtMs:         snap.At.UnixMilli(),
				NetW:         snap.Reading.NetW,
				BaseW:        snap.baseW(),
				Battery:      snap.Offered, // as the owner lets it offer (owner.go)
				Addrs:        n.mesh.Addrs(),
				Cluster:      n.group.ClusterID(),
				Applied:      n.group.AppliedIndex(),
				Loads:        homeLoadsOf(snap, snap.Shed),
			}
			if !snap.MeterOK || !snap.BatteryOK {
				t.NoReading = true
				t.NetW, t.BaseW, t.Battery, t.Loads = 0, 0, gridmesh.Flexibility{}, nil
				n.stats.reportsWithoutReading.Add(1)
			}
			if t.Joined = n.group.HasState(); !t.Joined {
				if t.Joining = n.group.Joining(); t.Joining == "" {
					t.Founder = n.founderName()
				}
			}
			n.hold(ctx)
			if err := n.nbhd.PublishTelemetry(ctx, t); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				n.stats.publishErrors.Add(1)
				n.log.Debug("publish telemetry", "err", err)
			} else {
				n.stats.reportsSent.Add(1)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		case <-n.reportNow:
		}
	}
}

// announce asks publishTelemetry for a report now.
func (n *Node) announce() {
	select {
	case n.reportNow <- struct{}{}:
	default: // one is pending
	}
}

// receiveTelemetry fills the table from the neighborhood topic (it is
// the table's one writer: telemetry_table.go) and teaches the host each
// home's addresses, so that whichever voter leads can reach every home.
func (n *Node) receiveTelemetry(ctx context.Context, table *telemetryTable) error {
	for {
		t, from, err := n.nbhd.NextTelemetry(ctx)
		n.hold(ctx)
		if err != nil {
			return err
		}
		n.mesh.AddPeerAddrs(from, t.Addrs)
		t, cut := control.Plausible(t, n.cfg.plausibleHomeW())
		if cut {
			n.stats.reportsImplausible.Add(1)
		}
		table.put(t, from, n.now())
	}
}

// founderName is the founder this home names while it has no Raft state.
func (n *Node) founderName() string {
	s, _ := n.founder.Load().(string)
	return s
}

// listenTelemetry keeps this home subscribed to its neighborhood's
// telemetry exactly while it or its peers need the reports, as
// consensus.Listen decides.
func (n *Node) listenTelemetry(ctx context.Context) error {
	ticker := time.NewTicker(n.cfg.TelemetryPeriod / 2)
	defer ticker.Stop()
	var st consensus.ListenState
	for {
		var want bool
		st, want = consensus.Listen(st, n.listenInput(), time.Now())
		if err := n.nbhd.SubscribeTelemetry(want); err != nil {
			n.log.Warn("telemetry subscription", "want", want, "err", err)
		} else {
			n.listening.Store(want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// listenInput gathers what consensus.Listen needs: the home's Raft state
// and the admitted peers it is connected to.
func (n *Node) listenInput() consensus.ListenInput {
	v := n.membership()
	leader, _ := n.group.Leader()
	beaconed, _, _ := n.group.Beaconed()
	in := consensus.ListenInput{HasState: n.group.HasState(), Voter: v.voter, LeaderKnown: leader != "", Members: v.ids, Beaconed: beaconed != ""}
	for _, p := range n.mesh.Host().Network().Peers() {
		if n.mesh.Admitted(p) {
			in.Neighbors = append(in.Neighbors, p.String())
		}
	}
	return in
}
