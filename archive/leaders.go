package archive

import (
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// leaderBook is what the archiver knows of each neighborhood's leader,
// learned from the aggregates leaders publish on the region topic and
// from the plans they publish on their neighborhood's: the validators
// have checked each one's author (with admission on, against a
// certificate of the neighborhood), and both carry the leader's Raft
// epoch. The archiver runs no Raft, so this is how its plan validators
// judge plans, and whose feed of telemetry it follows. A plan names a
// new leader within a plan period of its election; aggregates come
// later (the leaders' topic forms as leaders find each other). mu guards
// byNbhd.
type leaderBook struct {
	mu     sync.Mutex
	byNbhd map[gridmesh.NeighborhoodID]leaderOf
}

// leaderOf is one neighborhood's leader as last learned.
type leaderOf struct {
	peer  peer.ID
	epoch gridmesh.Epoch
}

func newLeaderBook() *leaderBook {
	return &leaderBook{byNbhd: make(map[gridmesh.NeighborhoodID]leaderOf)}
}

// supersedes reports whether a leader learned from an aggregate at epoch
// next replaces cur: a later term always does (an election happened); in
// the same term, the author does not change, and a newer index only
// refreshes it. An older epoch (a deposed leader's late aggregate) never
// does.
func supersedes(cur leaderOf, known bool, next leaderOf) bool {
	if !known {
		return true
	}
	return next.epoch.Term > cur.epoch.Term || next.epoch.Term == cur.epoch.Term && !cur.epoch.After(next.epoch)
}

// learn records an aggregate's author and epoch.
func (b *leaderBook) learn(nb gridmesh.NeighborhoodID, author peer.ID, epoch gridmesh.Epoch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, known := b.byNbhd[nb]
	if next := (leaderOf{author, epoch}); supersedes(cur, known, next) {
		b.byNbhd[nb] = next
	}
}

// view returns nb's mesh.LeaderView.
func (b *leaderBook) view(nb gridmesh.NeighborhoodID) mesh.LeaderView { return leaderView{b, nb} }

type leaderView struct {
	b  *leaderBook
	nb gridmesh.NeighborhoodID
}

// ObservePlan implements mesh.PlanObserver: a plan's author and epoch
// teach the book as an aggregate's do.
func (v leaderView) ObservePlan(author peer.ID, epoch gridmesh.Epoch) { v.b.learn(v.nb, author, epoch) }

// Leader implements mesh.LeaderView; it never blocks beyond a map
// lookup.
func (v leaderView) Leader() (peer.ID, uint64) {
	v.b.mu.Lock()
	defer v.b.mu.Unlock()
	l, ok := v.b.byNbhd[v.nb]
	if !ok {
		return "", 0
	}
	return l.peer, l.epoch.Term
}
