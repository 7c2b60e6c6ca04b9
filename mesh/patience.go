package mesh

import (
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"

	"github.com/gridmesh/gridmesh/internal/backoff"
)

// Admission under CPU starvation. A home's machine may be so short of
// CPU that the admission exchange (open a stream, negotiate, write a few
// hundred bytes, read them, check one signature) takes seconds instead
// of milliseconds. A member must then be late, not refused: a refused
// member loses its gossip and its Raft streams, and its neighborhood
// may lose its leader. A stranger must still get nothing, and be gone
// about as soon as before. So:
//
//   - this home presents its certificate until the peer has it
//     (presentOwn): another attempt, with backoff, while the peer stays
//     connected, for up to patienceMax, rather than one attempt bounded
//     by the peer's Timeout;
//   - a peer that shows no sign of being a member (its identify record,
//     in, claims no admission protocol of this neighborhood, and it is
//     presenting nothing) is refused at Timeout of wall time, as before;
//   - a peer that claims this neighborhood, whose identify record is not
//     in yet, or whose certificate is being read, is refused only once
//     claimWait has passed, Timeout of this home's progress too
//     (progressClock: wall time less the lateness of this home's own
//     wake-ups), and no presentation of it is being read; or at
//     patienceMax. While it waits it gets no gossip stream and no Raft
//     stream (gate.go);
//   - a peer refused for presenting nothing is kept out for a second,
//     doubled for each such refusal in a row (noCertificateBlockFor caps
//     it), and a valid certificate from it lifts the block.

// patienceMax bounds how long a peer that may be a slow member is given,
// in wall time, and how long a presentation is tried and read. Why 30 s
// (gateWait's): a gossip stream waits that long for its peer's verdict,
// so a member admitted within it still gets its gossip; longer, a peer
// that claims to be a member and presents nothing holds a connection
// (and nothing else) for too long.
const patienceMax = gateWait

// claimWait is the least a peer that may be a member is given, in wall
// time. Why 10 s: on an overloaded machine a member's presentation
// cannot even begin before identify has run both ways on the new
// connection (libp2p opens no stream before), and a testnet of 300 homes
// on a third of a core (docs/BENCHMARKS.md) measured members refused at
// 0.6-3 s whose own wake-ups were hardly late: the progress clock alone
// does not see that starvation. A stranger claiming the neighborhood
// holds a connection (and nothing else) for 10 s, then is kept out for
// a growing block.
const claimWait = 10 * time.Second

// progressSlice is the step in which a progressClock measures once the
// admission Timeout has passed: short next to claimWait, long enough
// that the thousands of peers waiting on an overloaded testnet do not
// add load of their own (a first version woke every 50 ms).
const progressSlice = 250 * time.Millisecond

// progressClock measures this host's progress: wall time, less what its
// own wake-ups were late by beyond half a step. A sleep of a 50 ms step
// that ends a second late credits 75 ms: meanwhile every other goroutine
// of this host (the handler reading a peer's certificate; on a testnet,
// the peer itself) was as short of CPU, so the peer is not judged on that
// second. On a machine with CPU to spare it runs as wall time.
type progressClock struct {
	start    time.Time
	credited time.Duration
}

func newProgressClock() *progressClock { return &progressClock{start: time.Now()} }

// sleep waits one step and credits it; false if ctx ended first.
func (c *progressClock) sleep(ctx context.Context, step time.Duration) bool {
	t0 := time.Now()
	if !backoff.Sleep(ctx, step) {
		return false
	}
	c.credited += credit(step, time.Since(t0))
	return true
}

// credit is the progress a sleep of step that took slept shows: slept,
// up to half a step late; past that, the rest was the machine's.
func credit(step, slept time.Duration) time.Duration { return min(slept, step+step/2) }

// wall returns the wall time since the clock started.
func (c *progressClock) wall() time.Duration { return time.Since(c.start) }

// awaitPresentation waits until p is settled (admitted, welcomed,
// refused, gone) or this home's patience with it has run out, and
// returns the wall time it waited; ok is false if ctx ended.
func (m *Mesh) awaitPresentation(ctx context.Context, p peer.ID) (waited time.Duration, ok bool) {
	timeout := m.adm.cfg.Timeout
	clock := newProgressClock()
	for {
		step := progressSlice
		if clock.wall() < timeout {
			step = timeout - clock.wall() // one wake-up up to the timeout: most peers are judged by then
		}
		if !clock.sleep(ctx, step) {
			return clock.wall(), false
		}
		if m.settled(p) {
			return clock.wall(), true
		}
		if wall := clock.wall(); wall >= timeout && (!m.maybeMember(p) || wall >= patienceMax ||
			wall >= claimWait && clock.credited >= timeout && !m.adm.isPresenting(p)) {
			return wall, true
		}
	}
}

// maybeMember reports whether p may be a member slowed down: a
// presentation of it is being read, its identify record is not in yet,
// or the record claims this neighborhood's admission protocol.
func (m *Mesh) maybeMember(p peer.ID) bool {
	if m.adm.isPresenting(p) {
		return true
	}
	if _, err := m.host.Peerstore().Get(p, "AgentVersion"); err != nil {
		// Not identified yet (identify records the agent with the
		// protocols; the protocols alone may be those streams
		// negotiated before it).
		return true
	}
	protos, err := m.host.Peerstore().GetProtocols(p)
	if err != nil {
		return true
	}
	for _, pr := range protos {
		if pr == m.adm.proto {
			return true
		}
	}
	return false
}

// Presentation retries: a second, doubling to 5 s. A presentation fails
// when the stream cannot be opened or written in time (the machine, or
// the peer's, short of CPU) or the peer reset it (its read deadline
// passed); a peer that takes it needs one.
const (
	presentRetryMin = time.Second
	presentRetryMax = 5 * time.Second
)

// presentOwn presents this home's certificate to p, again with backoff
// after a failure while p stays connected and not refused here, for up
// to patienceMax. A peer without this neighborhood's admission protocol
// (admission off) is not asked again.
func (m *Mesh) presentOwn(ctx context.Context, p peer.ID) {
	a := m.adm
	ctx, cancel := context.WithTimeout(ctx, patienceMax)
	defer cancel()
	b := backoff.New(presentRetryMin, presentRetryMax)
	for {
		err := Present(ctx, m.host, p, a.nbhd, a.ownCert())
		if err == nil {
			return
		}
		if ctx.Err() != nil || errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) ||
			m.host.Network().Connectedness(p) != network.Connected || a.isBlocked(p) {
			m.log.Debug("membership not presented", "peer", p.String(), "err", err)
			return
		}
		m.presentRetries.Add(1)
		if !backoff.Sleep(ctx, b.Next()) {
			return
		}
	}
}
