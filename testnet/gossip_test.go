package testnet

import (
	"testing"

	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/node"
)

func TestGossipRates(t *testing.T) {
	a, b, restarted := &home{}, &home{}, &home{}
	first, second := &node.Node{}, &node.Node{} // two runs of one home
	count := func(recv, dup, sent, rpcs uint64) gossipCount {
		return gossipCount{
			run:    first,
			topics: map[string]mesh.TopicTraffic{mesh.TopicPlan: {Received: recv, Duplicates: dup, Sent: sent}},
			wire:   mesh.WireTraffic{RPCsSent: rpcs, RPCsReceived: rpcs, IHaveIDs: rpcs},
		}
	}
	start := map[*home]gossipCount{a: count(10, 20, 30, 40), b: count(0, 0, 0, 0), restarted: count(100, 100, 100, 100)}
	// Restarted, its new counters already past the old ones.
	again := count(200, 200, 200, 200)
	again.run = second
	end := map[*home]gossipCount{a: count(30, 40, 50, 60), b: count(20, 20, 20, 20), restarted: again}
	rep := gossipRates(start, end, 2)
	if rep == nil {
		t.Fatal("no report")
	}
	if rep.Homes != 2 {
		t.Errorf("homes %d, want 2: the restarted home is left out", rep.Homes)
	}
	// Each home counted 20 of everything in 2 s: 10 per home per second.
	if got := rep.Topics[mesh.TopicPlan]; got != (GossipTopicRates{Received: 10, Duplicates: 10, Sent: 10}) {
		t.Errorf("plan rates %+v, want 10 each", got)
	}
	if rep.RPCsSent != 10 || rep.RPCsReceived != 10 || rep.IHaveIDs != 10 {
		t.Errorf("wire rates %+v, want 10 each", rep)
	}
	if gossipRates(start, map[*home]gossipCount{}, 2) != nil {
		t.Error("a report from no home")
	}
}
