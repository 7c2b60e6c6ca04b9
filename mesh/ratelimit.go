package mesh

import (
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// Per-peer rate limits on gossip, in two places:
//
//   - Before signature checks, per connected peer: every message a peer
//     sends, on any topic, takes a token of relayLimit; the messages of
//     an RPC past the peer's tokens are dropped unread (counted under
//     ReasonPeerOverRate). This is gossipsub's RPC inspector, run on its
//     event loop before anything else looks at the RPC, so a flood costs
//     a map lookup a message, not an ed25519 verification.
//   - In the telemetry and plan validators, per author, after the
//     signature (the author is then known to have signed): authorLimit,
//     run on the author's own stamps (allowAt: a home that stalled and
//     receives an author's last seconds at once does not take them for
//     a flood), counted under ReasonAuthorOverRate. A message over it is
//     rejected when its author sent it to this home itself, which counts
//     against the author's score (P4) and graylists a flooder within a
//     second, and ignored when a member relayed it: the relay did
//     nothing wrong, and gets no penalty.
//
// A home's own messages are not limited: it never floods itself.
const (
	// relayRate, relayBurst: what one peer may send this home, all
	// topics together, per second. An honest peer relays its whole
	// neighborhood's telemetry (at most ~200 homes, 1/s each), the
	// plans and the region's few messages: 500/s is 2.5 times that,
	// and a burst of 1000 absorbs a reconnect's catch-up.
	relayRate  rate.Limit = 500
	relayBurst            = 1000
	// authorRate, authorBurst: one author's messages on one topic per
	// second. Homes report once a telemetry period and leaders plan once
	// a plan period (1 s each); 4/s with a burst of 10 leaves room for
	// the extra report a change of state triggers and for shorter
	// periods in tests, and holds a flooder to 4 of its 5,000.
	authorRate  rate.Limit = 4
	authorBurst            = 10
	// maxLimited bounds the peers a limiter set remembers. Past it,
	// entries idle for limitIdle (by then their bucket is full again, so
	// forgetting them changes nothing) are dropped; if none are, the
	// set starts over.
	maxLimited = 4096
	limitIdle  = time.Minute
)

// limiters is a set of token buckets, one per peer. Its methods are safe
// for concurrent use.
type limiters struct {
	r     rate.Limit
	burst int

	mu sync.Mutex // guards m
	m  map[peer.ID]*limited
}

type limited struct {
	lim  *rate.Limiter
	last time.Time // arrival of the newest message, for pruning
	// at is the bucket's clock for allowAt: the newest stamp taken,
	// never past arrival.
	at time.Time
}

func newLimiters(r rate.Limit, burst int) *limiters {
	return &limiters{r: r, burst: burst, m: make(map[peer.ID]*limited)}
}

// allow takes a token of p's bucket at now, if it has one.
func (l *limiters) allow(p peer.ID, now time.Time) bool {
	return l.allowAt(p, now, now)
}

// allowAt takes a token of p's bucket for a message p stamped at stamp
// (its author's own time of publication, signed) arriving now. The
// bucket runs on the stamps, held between the newest stamp taken and
// now: messages an author published a second apart that arrive at once,
// after the receiving home (or the link) stalled, are judged a second
// apart and allowed, as they were sent at the author's rate. A stamp
// gains a flooder nothing: one older than the newest counts as the
// newest, one in the future as now, so the bucket never holds more than
// arrival time would have given it.
func (l *limiters) allowAt(p peer.ID, now, stamp time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[p]
	if e == nil {
		if len(l.m) >= maxLimited {
			l.prune(now)
		}
		e = &limited{lim: rate.NewLimiter(l.r, l.burst)}
		l.m[p] = e
	}
	e.last = now
	if stamp.After(e.at) {
		e.at = stamp
	}
	if e.at.After(now) {
		e.at = now
	}
	return e.lim.AllowN(e.at, 1)
}

// prune drops idle entries, or all of them if none is idle. l.mu is held.
func (l *limiters) prune(now time.Time) {
	for p, e := range l.m {
		if now.Sub(e.last) > limitIdle {
			delete(l.m, p)
		}
	}
	if len(l.m) >= maxLimited {
		clear(l.m)
	}
}

// inspectRPC is gossipsub's RPC inspector: it keeps the messages of rpc
// that from has tokens for and drops the rest (see above). It never
// refuses the RPC itself: subscriptions and control messages pass.
func (m *Mesh) inspectRPC(from peer.ID, rpc *pubsub.RPC) error {
	if len(rpc.Publish) == 0 {
		return nil
	}
	now := time.Now()
	kept := rpc.Publish[:0]
	for _, msg := range rpc.Publish {
		if !m.inflight.firstCopy(msg, now) {
			m.traffic.DuplicateMessage(&pubsub.Message{Message: msg}) // inflight.go
			continue
		}
		if m.relayLimits.allow(from, now) {
			kept = append(kept, msg)
		} else {
			m.rejections.add(ReasonPeerOverRate)
		}
	}
	clear(rpc.Publish[len(kept):])
	rpc.Publish = kept
	return nil
}

// overRate judges a message of a member, stamped stampMs by its author,
// against its author's bucket in lim (allowAt): Accept while the author has tokens (or is this home), else the
// verdict described above.
func (m *Mesh) overRate(lim *limiters, msg *pubsub.Message, stampMs int64) pubsub.ValidationResult {
	author := msg.GetFrom()
	if author == m.ID() || lim.allowAt(author, time.Now(), time.UnixMilli(stampMs)) {
		return pubsub.ValidationAccept
	}
	if msg.ReceivedFrom == author {
		return pubsub.ValidationReject
	}
	return pubsub.ValidationIgnore
}
