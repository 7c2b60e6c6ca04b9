package mesh

import (
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

func TestJudgePlan(t *testing.T) {
	const leader, other = peer.ID("leader"), peer.ID("other")
	plan := func(term uint64) gridmesh.Plan { return gridmesh.Plan{Epoch: gridmesh.Epoch{Term: term, Index: 7}} }
	for _, tc := range []struct {
		name       string
		term       uint64 // the plan's
		author     peer.ID
		known      peer.ID
		knownTerm  uint64
		verdict    pubsub.ValidationResult
		wantReason string
	}{
		{"leader, current term", 3, leader, leader, 3, pubsub.ValidationAccept, ""},
		{"other, current term", 3, other, leader, 3, pubsub.ValidationReject, ReasonNotLeader},
		{"leader, older term", 2, leader, leader, 3, pubsub.ValidationReject, ReasonStaleTerm},
		{"other, older term", 2, other, leader, 3, pubsub.ValidationReject, ReasonStaleTerm},
		{"newer term", 4, other, leader, 3, pubsub.ValidationIgnore, ReasonUnknownTerm},
		{"no leader, current term", 3, leader, "", 3, pubsub.ValidationIgnore, ReasonNoLeader},
		{"no leader, newer term", 4, leader, "", 3, pubsub.ValidationIgnore, ReasonNoLeader},
		{"no leader, older term", 2, leader, "", 3, pubsub.ValidationReject, ReasonStaleTerm},
		{"nothing known", 0, leader, "", 0, pubsub.ValidationIgnore, ReasonNoLeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verdict, reason := judgePlan(plan(tc.term), tc.author, tc.known, tc.knownTerm)
			if verdict != tc.verdict || reason != tc.wantReason {
				t.Fatalf("got %v %q, want %v %q", verdict, reason, tc.verdict, tc.wantReason)
			}
		})
	}
}
