package mesh

import (
	"math"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Gossip peer scoring (go-libp2p-pubsub's v1.1 score). Every home scores
// every gossip peer; a peer whose score falls below a threshold loses,
// in turn, this home's gossip about messages (GossipThreshold), this
// home's own publications (PublishThreshold) and every RPC it sends
// (GraylistThreshold: nothing it sends is even validated). The numbers
// are sized for a neighborhood's traffic: each home's telemetry once a
// second, the leader's plan once a plan period (1 s), region messages a
// few a minute. docs/SECURITY.md gives every number and why; in short:
//
//   - P4 (invalid messages) weighs heavily: a member publishing messages
//     its neighbors reject (forged plans, junk, floods over its rate) is
//     graylisted after ~16 of them, while the few stale plans a deposed
//     leader or an honest relay sends around a term change cost it
//     little.
//   - P3 (mesh delivery deficits) is off on every topic: at one message
//     a second from one leader, an honest mesh peer often delivers
//     nothing first, and would be pruned for it.
//   - P6 (IP colocation) is off: homes behind one NAT, and a whole
//     testnet on 127.0.0.1, share an address; admission (one certificate
//     per identity) is the defence against many identities.
//   - Positive contributions are capped (topicScoreCap), so a member
//     cannot bank credit by behaving for a while and then misbehave.
const (
	// scoreDecayInterval is how often counters decay: the library's
	// minimum and default.
	scoreDecayInterval = time.Second
	// scoreDecayToZero: a counter below it counts as 0 (library default).
	scoreDecayToZero = 0.01

	// invalidWeight is P4's weight: n invalid messages cost 10·n².
	invalidWeight = -10
	// invalidDecay: a peer's invalid-message count decays to nothing
	// over 10 minutes, so a flooder stays graylisted for minutes after
	// its flood, and a relay that passed a stale plan at a term change
	// is forgiven within minutes.
	invalidDecay = 10 * time.Minute

	// timeInMeshWeight (P1): 1/360 a second in the mesh, capped at an
	// hour: +10 for an hour's membership, enough to keep a long-standing
	// mesh peer above an occasional penalty, far too little to outweigh
	// more than a few invalid messages.
	timeInMeshWeight = 1.0 / 360
	timeInMeshCap    = 3600
	// firstDeliveryWeight (P2): +1 per message delivered first, capped
	// at 20 and decaying over a minute.
	firstDeliveryWeight = 1
	firstDeliveryCap    = 20
	firstDeliveryDecay  = time.Minute
	// topicScoreCap caps what topics add to a score: 50, so that no
	// amount of good behaviour absorbs more than ~2 invalid messages.
	topicScoreCap = 50

	// behaviourWeight (P7): broken IHAVE promises and re-grafts inside
	// the prune backoff, past behaviourThreshold (6, which an honest
	// peer under load may reach), cost 10·excess², decaying over 10 min.
	behaviourWeight    = -10
	behaviourThreshold = 6
	behaviourDecay     = 10 * time.Minute

	// retainScore keeps a disconnected peer's score for 10 minutes: a
	// graylisted flooder that reconnects comes back graylisted.
	retainScore = 10 * time.Minute

	// The thresholds (see above). A deposed leader's 3 stale plans
	// (−90) or an honest relay's handful stay far above all three; 8
	// invalid messages (−640) stop gossip to the peer, 11 (−1210) this
	// home's publications, 16 (−2560) graylist it.
	gossipThreshold   = -500
	publishThreshold  = -1000
	graylistThreshold = -2500
	// acceptPXThreshold is above any reachable score (topicScoreCap):
	// peer exchange is off, and a peer's suggestions are never taken.
	acceptPXThreshold = 2 * topicScoreCap
	// opportunisticGraftThreshold: a mesh whose median score is below
	// 2 grafts better-scoring peers.
	opportunisticGraftThreshold = 2

	// scoreInspectPeriod is how often the scores are snapshot for
	// PeerScores: once a decay interval.
	scoreInspectPeriod = time.Second
)

// scoreParams returns the peer score parameters; topics get theirs as
// they are joined (topicScoreParams).
func scoreParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics:                      map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap:               topicScoreCap,
		AppSpecificScore:            func(peer.ID) float64 { return 0 },
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    0,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      behaviourWeight,
		BehaviourPenaltyThreshold:   behaviourThreshold,
		BehaviourPenaltyDecay:       decay(behaviourDecay),
		DecayInterval:               scoreDecayInterval,
		DecayToZero:                 scoreDecayToZero,
		RetainScore:                 retainScore,
	}
}

// scoreThresholds returns the thresholds (see above).
func scoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           graylistThreshold,
		AcceptPXThreshold:           acceptPXThreshold,
		OpportunisticGraftThreshold: opportunisticGraftThreshold,
	}
}

// topicScoreParams returns one topic's parameters. Every topic of ours
// is scored alike: the rates differ, but P3 is off on all of them and
// what remains (P1, P2, P4) does not depend on a topic's rate.
func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		TopicWeight:                    1,
		TimeInMeshWeight:               timeInMeshWeight,
		TimeInMeshQuantum:              time.Second,
		TimeInMeshCap:                  timeInMeshCap,
		FirstMessageDeliveriesWeight:   firstDeliveryWeight,
		FirstMessageDeliveriesDecay:    decay(firstDeliveryDecay),
		FirstMessageDeliveriesCap:      firstDeliveryCap,
		MeshMessageDeliveriesWeight:    0, // P3 off (see above)
		MeshFailurePenaltyWeight:       0, // P3b off with it
		InvalidMessageDeliveriesWeight: invalidWeight,
		InvalidMessageDeliveriesDecay:  decay(invalidDecay),
	}
}

// decay is the per-interval factor that takes a counter to
// scoreDecayToZero over d.
func decay(d time.Duration) float64 {
	return pubsub.ScoreParameterDecayWithBase(d, scoreDecayInterval, scoreDecayToZero)
}

// scoreOptions returns the gossipsub options that turn scoring on and
// keep a snapshot of the scores in s.
func scoreOptions(s *scoreBoard) []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithPeerScore(scoreParams(), scoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.ExtendedPeerScoreInspectFn(s.inspect), scoreInspectPeriod),
	}
}

// PeerScores summarizes the gossip scores this home gives its peers, as
// of the last snapshot (taken every second).
type PeerScores struct {
	// Peers is how many peers are scored (connected, or disconnected
	// within the retention time).
	Peers int
	// Min and Max are the lowest and highest score; 0 with no peer.
	Min, Max float64
	// Graylisted are the peers below the graylist threshold: nothing
	// they send is processed. Sorted.
	Graylisted []peer.ID
}

// scoreBoard holds the latest snapshot; gossipsub's inspector goroutine
// writes it, anyone reads it. graylisted, set before gossip starts, is
// called with the snapshot's graylisted peers (graylist.go).
type scoreBoard struct {
	last       atomic.Pointer[PeerScores]
	graylisted func([]peer.ID)
}

// graylisted is called with the peers graylisted for what they sent,
// not for how slowly they answered (misbehaving), sorted.
func (s *scoreBoard) inspect(snaps map[peer.ID]*pubsub.PeerScoreSnapshot) {
	scores := make(map[peer.ID]float64, len(snaps))
	var bad []peer.ID
	for p, sn := range snaps {
		scores[p] = sn.Score
		if misbehaving(sn) {
			bad = append(bad, p)
		}
	}
	out := summarizeScores(scores)
	s.last.Store(&out)
	if s.graylisted != nil && len(bad) > 0 {
		slices.Sort(bad)
		s.graylisted(bad)
	}
}

// misbehaving reports whether a peer would be graylisted without its
// behaviour penalty (P7): for what it sent (invalid messages), not for
// IHAVE promises it broke. On a machine short of CPU an honest member
// breaks promises by the dozen (the messages it offered are not sent
// within the library's 3 s follow-up time), and P7 alone can take it
// below the graylist threshold: gossipsub then ignores its RPCs while it
// stays there, but it is not disconnected (graylist.go).
func misbehaving(sn *pubsub.PeerScoreSnapshot) bool {
	excess := max(sn.BehaviourPenalty-behaviourThreshold, 0)
	return sn.Score-behaviourWeight*excess*excess < graylistThreshold
}

// summarizeScores is the pure part of a snapshot.
func summarizeScores(scores map[peer.ID]float64) PeerScores {
	out := PeerScores{Peers: len(scores)}
	if len(scores) == 0 {
		return out
	}
	out.Min, out.Max = math.Inf(1), math.Inf(-1)
	for p, s := range scores {
		out.Min, out.Max = min(out.Min, s), max(out.Max, s)
		if s < graylistThreshold {
			out.Graylisted = append(out.Graylisted, p)
		}
	}
	sort.Slice(out.Graylisted, func(i, j int) bool { return out.Graylisted[i] < out.Graylisted[j] })
	return out
}

// PeerScores returns the latest snapshot of this home's gossip peer
// scores; the zero value before the first one.
func (m *Mesh) PeerScores() PeerScores {
	if s := m.scores.last.Load(); s != nil {
		return *s
	}
	return PeerScores{}
}
