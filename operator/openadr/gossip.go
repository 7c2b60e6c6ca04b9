package openadr

import (
	"context"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// AggregateSource yields the aggregates neighborhood leaders gossip on
// the region topic (node.Operator does).
type AggregateSource interface {
	NextAggregate(ctx context.Context) (gridmesh.Aggregate, error)
}

// GossipMeter is a Meter from the region's gossip alone: it keeps the
// newest aggregate of each neighborhood and says, for a signal, the
// reduction the leaders split among themselves for it (control.Allocate,
// the split every leader computes from the same view) and the reduction
// offered in all. Its reductions are estimates (reading type ESTIMATED):
// leaders gossip what they can do, not a meter reading.
type GossipMeter struct {
	mu   sync.Mutex // guards aggs; Run writes, Sample reads
	aggs map[gridmesh.NeighborhoodID]gridmesh.Aggregate
}

var _ Meter = (*GossipMeter)(nil)

// NewGossipMeter returns an empty meter; Run fills it.
func NewGossipMeter() *GossipMeter {
	return &GossipMeter{aggs: map[gridmesh.NeighborhoodID]gridmesh.Aggregate{}}
}

// Run keeps the newest aggregates from src until ctx ends or src fails.
func (g *GossipMeter) Run(ctx context.Context, src AggregateSource) error {
	for {
		a, err := src.NextAggregate(ctx)
		if err != nil {
			return err
		}
		g.Put(a)
	}
}

// Put keeps a if it is newer than the one held for its neighborhood.
func (g *GossipMeter) Put(a gridmesh.Aggregate) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if old, ok := g.aggs[a.Neighborhood]; ok && !control.NewerAggregate(a, old) {
		return
	}
	g.aggs[a.Neighborhood] = a
}

// Sample is s's split at now and the fresh aggregates' offer.
func (g *GossipMeter) Sample(s gridmesh.Signal, now time.Time) Sample {
	g.mu.Lock()
	aggs := make([]gridmesh.Aggregate, 0, len(g.aggs))
	for _, a := range g.aggs {
		aggs = append(aggs, a)
	}
	g.mu.Unlock()
	at := now.Truncate(control.AllocationPeriod)
	var out Sample
	for _, a := range aggs {
		if a.Fresh(at) {
			out.OfferedW += a.UpW
		}
	}
	if alloc, err := control.Allocate(s, aggs, at); err == nil {
		out.ReductionW = alloc.AllocatedW
	}
	return out
}

// ReadingType is ESTIMATED: a split of gossiped offers, not metered.
func (g *GossipMeter) ReadingType() string { return "ESTIMATED" }
