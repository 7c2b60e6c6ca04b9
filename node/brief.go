package node

import (
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// Brief is the part of Status that a watcher polling many homes many
// times a second needs: whether the home follows a plan, and whether it
// believes it leads, in which term. Status builds maps and asks the
// mesh, the Raft group and the region for everything else; Brief reads
// a few atomics and allocates nothing, so a city of a thousand homes can
// be sampled ten times a second without the sampling becoming the load.
type Brief struct {
	// HasPlan, EverPlanned and PlanEpoch are as in Status, from the
	// loop's newest tick.
	HasPlan     bool
	EverPlanned bool
	PlanEpoch   gridmesh.Epoch
	// PlanIssued is when the leader made the plan the home follows; zero
	// without one.
	PlanIssued time.Time
	// IsLeader is whether this home's Raft member is in the leader state
	// now, and Term its current term; false and 0 while the network is
	// down.
	IsLeader bool
	Term     uint64
}

// Brief returns the home's plan and leadership now.
func (n *Node) Brief() Brief {
	var b Brief
	if snap := n.stats.loop.Load(); snap != nil {
		b.HasPlan, b.EverPlanned, b.PlanEpoch = snap.HasPlan, snap.EverPlanned, snap.Plan
		if snap.HasPlan {
			b.PlanIssued = snap.PlanIssued
		}
	}
	if nw := n.up.Load(); nw != nil {
		_, b.Term = nw.group.Leader()
		b.IsLeader = nw.group.IsLeader()
	}
	return b
}

// Gossip returns the gossip messages this home's host counted by kind of
// topic and its gossipsub RPCs, since its network opened; false while
// the network is down. Counters only: it allocates one small map.
func (n *Node) Gossip() (map[string]mesh.TopicTraffic, mesh.WireTraffic, bool) {
	nw := n.up.Load()
	if nw == nil {
		return nil, mesh.WireTraffic{}, false
	}
	return nw.mesh.Traffic(), nw.mesh.Wire(), true
}

// RegionBrief is Status().Region alone: the region's signals and this
// neighborhood's share, without the rest of Status; nil without a
// region.
func (n *Node) RegionBrief() *RegionStatus { return n.regionStatus(n.up.Load()) }
