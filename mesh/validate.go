package mesh

import (
	"context"
	"errors"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

// LeaderView tells the plan validator who leads a neighborhood. Package
// node adapts the neighborhood's Raft group to it; mesh never imports
// consensus.
type LeaderView interface {
	// Leader returns the peer this home believes leads the neighborhood
	// and the Raft term it leads in. leader is "" while no leader is known
	// (term may still be the latest term seen). Leader is called on
	// gossipsub's validation path for every plan: it must not block.
	Leader() (leader peer.ID, term uint64)
}

// PlanObserver is a LeaderView that learns the leader from the plans it
// sees: a member that runs no Raft (an archiver) takes the author of a
// plan of a newer term to lead, as it takes an aggregate's author. The
// plan validator calls ObservePlan with every plan of a member that
// decodes and is of this neighborhood, before it asks Leader.
type PlanObserver interface {
	LeaderView
	ObservePlan(author peer.ID, epoch gridmesh.Epoch)
}

// judgePlan decides whether a valid plan of this neighborhood, signed by
// author, may be delivered, given the leader and term this home knows.
// It returns the verdict and, unless it is Accept, the reason.
func judgePlan(p gridmesh.Plan, author, leader peer.ID, term uint64) (pubsub.ValidationResult, string) {
	switch {
	case p.Epoch.Term < term:
		return pubsub.ValidationReject, ReasonStaleTerm
	case leader == "":
		return pubsub.ValidationIgnore, ReasonNoLeader
	case p.Epoch.Term > term:
		// Raft here has not caught up; the leader re-sends every period.
		return pubsub.ValidationIgnore, ReasonUnknownTerm
	case author != leader:
		return pubsub.ValidationReject, ReasonNotLeader
	}
	return pubsub.ValidationAccept, ""
}

// decodeReason names why a decoder refused a message.
func decodeReason(err error) string {
	if errors.Is(err, gridmesh.ErrInvalid) {
		return ReasonInvalid
	}
	return ReasonUndecodable
}

// member reports whether msg may come from a member: its author is
// admitted here, or the peer that forwarded it is. The second suffices
// because a member forwards only what its own validator accepted, so the
// chain of forwarders leads back to a member that received the message
// from its author directly and had admitted it; a home thus accepts a
// member's message relayed across homes that member never connected to,
// and a stranger's message never. It is checked first, before decoding:
// a stranger's junk costs a map lookup.
func (n *Neighborhood) member(msg *pubsub.Message) bool {
	return n.m.Admitted(msg.GetFrom()) || n.m.Admitted(msg.ReceivedFrom)
}

// validateTelemetry is the telemetry topic's validator. It decodes once
// and hands the decoded value to subscribers in msg.ValidatorData.
func (n *Neighborhood) validateTelemetry(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if !n.member(msg) {
		return n.refuse(msg, pubsub.ValidationReject, ReasonNonMember)
	}
	t, err := DecodeTelemetry(msg.Data)
	if err != nil {
		return n.refuse(msg, pubsub.ValidationReject, decodeReason(err))
	}
	if v := n.m.overRate(n.telemetryLimits, msg, t.AtMs); v != pubsub.ValidationAccept {
		return n.refuse(msg, v, ReasonAuthorOverRate)
	}
	if t.Neighborhood != n.id {
		return n.refuse(msg, pubsub.ValidationReject, ReasonWrongNeighborhood)
	}
	msg.ValidatorData = t
	return pubsub.ValidationAccept
}

// validatePlan is the plan topic's validator: a plan is delivered only if
// it comes from a member, decodes, is valid, belongs here, and is signed
// by the leader of the current term.
func (n *Neighborhood) validatePlan(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if !n.member(msg) {
		return n.refuse(msg, pubsub.ValidationReject, ReasonNonMember)
	}
	p, err := DecodePlan(msg.Data)
	if err != nil {
		return n.refuse(msg, pubsub.ValidationReject, decodeReason(err))
	}
	if v := n.m.overRate(n.planLimits, msg, p.IssuedAtMs); v != pubsub.ValidationAccept {
		return n.refuse(msg, v, ReasonAuthorOverRate)
	}
	if p.Neighborhood != n.id {
		return n.refuse(msg, pubsub.ValidationReject, ReasonWrongNeighborhood)
	}
	if o, ok := n.leaders.(PlanObserver); ok {
		o.ObservePlan(msg.GetFrom(), p.Epoch)
	}
	leader, term := n.leaders.Leader()
	if verdict, reason := judgePlan(p, msg.GetFrom(), leader, term); verdict != pubsub.ValidationAccept {
		return n.refuse(msg, verdict, reason)
	}
	msg.ValidatorData = p
	return pubsub.ValidationAccept
}

// refuse counts and logs a refused message and returns the verdict.
func (n *Neighborhood) refuse(msg *pubsub.Message, verdict pubsub.ValidationResult, reason string) pubsub.ValidationResult {
	n.m.rejections.add(reason)
	n.m.log.Debug("message refused", "topic", msg.GetTopic(), "reason", reason,
		"author", msg.GetFrom().String(), "via", msg.ReceivedFrom.String())
	return verdict
}
