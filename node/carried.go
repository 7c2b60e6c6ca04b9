package node

import (
	"maps"
	"sync"

	"github.com/gridmesh/gridmesh/mesh"
)

// carried keeps what a home's networks refused across their restarts:
// the network (host, Raft group, topics) and the region handle are
// replaced when the network restarts, and each counts only since it
// opened. Counters read here are the sum over every network and region
// the home opened, so they never go back (a Prometheus counter would
// read a restart as a reset) and a stopped home still shows what it
// refused.
//
// mu guards every field; the network and region runners hand over each
// new network or region handle (opened), and readers take counts.
type carried struct {
	mu sync.Mutex
	// Totals of the networks and region handles before the newest.
	rejections, region       map[string]uint64
	degraded                 map[string]uint64
	refusedStreams, otherCls uint64
	// The newest network and region handle, open or closed since.
	net refusals
	reg regionRefusals
}

// refusals is what a network counts of what it refused: a *network.
type refusals interface {
	Rejections() map[string]uint64
	Degraded() map[string]uint64
	RefusedStreams() uint64
	OtherClusterStreams() uint64
}

// regionRefusals is what a region handle counts: a *mesh.Region.
type regionRefusals interface{ Rejections() map[string]uint64 }

var (
	_ refusals       = (*network)(nil)
	_ regionRefusals = (*mesh.Region)(nil)
)

// Rejections, RefusedStreams and OtherClusterStreams are nw's refusals
// since it opened.
func (nw *network) Rejections() map[string]uint64 { return nw.mesh.Rejections() }

// Degraded is what nw's admission did for peers slowed down
// (mesh.Mesh.Degraded) since it opened.
func (nw *network) Degraded() map[string]uint64 { return nw.mesh.Degraded() }
func (nw *network) RefusedStreams() uint64      { return nw.group.RefusedStreams() }
func (nw *network) OtherClusterStreams() uint64 { return nw.group.OtherClusterStreams() }

// networkCounts is what a home's networks refused, summed over all of them.
type networkCounts struct {
	Rejections                          map[string]uint64
	Region                              map[string]uint64
	Degraded                            map[string]uint64
	RefusedStreams, OtherClusterStreams uint64
}

// networkOpened folds the previous network's counts into the totals and
// makes nw the newest.
func (c *carried) networkOpened(nw refusals) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.net; old != nil {
		c.rejections = addCounts(c.rejections, old.Rejections())
		c.degraded = addCounts(c.degraded, old.Degraded())
		c.refusedStreams += old.RefusedStreams()
		c.otherCls += old.OtherClusterStreams()
	}
	c.net = nw
}

// regionOpened folds the previous region handle's counts into the totals
// and makes r the newest.
func (c *carried) regionOpened(r regionRefusals) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.reg; old != nil {
		c.region = addCounts(c.region, old.Rejections())
	}
	c.reg = r
}

// counts returns the totals with the newest network's and region's.
func (c *carried) counts() networkCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := networkCounts{
		Rejections:          maps.Clone(c.rejections),
		Region:              maps.Clone(c.region),
		Degraded:            maps.Clone(c.degraded),
		RefusedStreams:      c.refusedStreams,
		OtherClusterStreams: c.otherCls,
	}
	if nw := c.net; nw != nil {
		out.Rejections = addCounts(out.Rejections, nw.Rejections())
		out.Degraded = addCounts(out.Degraded, nw.Degraded())
		out.RefusedStreams += nw.RefusedStreams()
		out.OtherClusterStreams += nw.OtherClusterStreams()
	}
	if r := c.reg; r != nil {
		out.Region = addCounts(out.Region, r.Rejections())
	}
	return out
}

// addCounts adds b's counts to a's, allocating a when nil.
func addCounts(a, b map[string]uint64) map[string]uint64 {
	if a == nil {
		a = make(map[string]uint64, len(b))
	}
	for k, v := range b {
		a[k] += v
	}
	return a
}
