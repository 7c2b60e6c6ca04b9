package mesh

import "sync/atomic"

// Reasons a message is refused at validation, the keys of
// (*Mesh).Rejections. Non-member, undecodable, invalid, wrong-neighborhood,
// stale-term and not-leader messages are rejected (gossipsub would
// penalise the forwarding peer if scoring were on); unknown-term and
// no-leader plans are ignored: they may be fine, but this home cannot
// judge them yet.
const (
	// ReasonNonMember: with admission on, neither the message's author
	// nor the peer that forwarded it is admitted (see Mesh.Admitted).
	ReasonNonMember         = "non-member"
	ReasonUndecodable       = "undecodable"
	ReasonInvalid           = "invalid"
	ReasonWrongNeighborhood = "wrong-neighborhood"
	ReasonStaleTerm         = "stale-term"
	ReasonNotLeader         = "not-leader"
	ReasonUnknownTerm       = "unknown-term"
	ReasonNoLeader          = "no-leader"
	// ReasonPeerOverRate: a message dropped before its signature was
	// checked because the peer that sent it was over its rate
	// (ratelimit.go).
	ReasonPeerOverRate = "peer-over-rate"
	// ReasonAuthorOverRate: a member's message over its author's rate on
	// its topic (ratelimit.go).
	ReasonAuthorOverRate = "author-over-rate"
)

// ReasonAdmissionRefused counts peers refused admission, not messages:
// its keys in (*Mesh).Rejections are ReasonAdmissionRefused + "/" + one
// of the Detail constants, e.g. "admission-refused/expired".
const ReasonAdmissionRefused = "admission-refused"

var reasons = [...]string{
	ReasonNonMember, ReasonUndecodable, ReasonInvalid, ReasonWrongNeighborhood,
	ReasonStaleTerm, ReasonNotLeader, ReasonUnknownTerm, ReasonNoLeader,
	ReasonPeerOverRate, ReasonAuthorOverRate,
}

// rejections counts refused messages and peers by reason. The map is
// built once and never written after, so the counters need no lock.
type rejections map[string]*atomic.Uint64

func newRejections() rejections {
	r := make(rejections, len(reasons)+len(admissionDetails))
	for _, reason := range reasons {
		r[reason] = new(atomic.Uint64)
	}
	for _, detail := range admissionDetails {
		r[ReasonAdmissionRefused+"/"+detail] = new(atomic.Uint64)
	}
	return r
}

// add counts one message refused for reason, which must be one of reasons.
func (r rejections) add(reason string) { r[reason].Add(1) }

func (r rejections) snapshot() map[string]uint64 {
	out := make(map[string]uint64, len(r))
	for reason, n := range r {
		out[reason] = n.Load()
	}
	return out
}
