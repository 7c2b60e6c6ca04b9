package mesh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

var (
	// ErrClosed is returned by a Neighborhood or Mesh that has been closed
	// (or whose gossip context has ended).
	ErrClosed = errors.New("mesh: closed")
)

// RefusedError is returned by PublishPlan when this home's own validator
// would refuse the plan, for instance because its leader view says
// another peer leads or a newer term has begun.
type RefusedError struct {
	// Reason is one of the Reason constants.
	Reason string
}

func (e *RefusedError) Error() string { return "mesh: plan refused: " + e.Reason }

// Neighborhood is this home's handle on one neighborhood's gossip topics:
// telemetry (homes → voters) and plans (leader → homes). Its methods are
// safe for concurrent use.
type Neighborhood struct {
	m       *Mesh
	id      gridmesh.NeighborhoodID
	leaders LeaderView

	telemetry, plan *pubsub.Topic
	// telemetryLimits and planLimits bound each author's messages on
	// the topics (ratelimit.go).
	telemetryLimits, planLimits *limiters

	// subMu guards telemetrySub (pumping into inbox) and planSub (into
	// plans), each off while its sub is nil.
	subMu                 sync.Mutex
	telemetrySub, planSub toggled
	// plans holds the plans NextPlan returns: the topic's (while
	// subscribed) and the leader's beacons' (plandirect.go).
	plans      chan receivedPlan
	planDirect planDirect

	// inbox holds the reports NextTelemetry returns: the topic's (while
	// subscribed, pumped from the subscription) and the streams' (as
	// leader: telemetry.go).
	inbox        chan received
	direct       directSender
	feeds        feeds
	directIn     atomic.Uint64
	inboxDropped atomic.Uint64

	closeOnce sync.Once
	closed    atomic.Bool
	done      chan struct{} // closed by Close
	closeErr  error
}

// TopicName returns the gossip topic of a neighborhood's messages of one
// kind ("telemetry" or "plan") in a deployment.
func TopicName(network string, id gridmesh.NeighborhoodID, kind string) string {
	return "/gridmesh/" + network + "/nbhd/" + string(id) + "/" + kind
}

// JoinNeighborhood joins neighborhood id's telemetry and plan topics and
// registers their validators. It always subscribes to plans; it
// subscribes to telemetry only if subscribeTelemetry is set (Raft voters
// need it; other homes only publish). leaders judges every plan. A
// neighborhood can be joined once at a time; with admission on, only the
// neighborhood admission is for.
func (m *Mesh) JoinNeighborhood(id gridmesh.NeighborhoodID, leaders LeaderView, subscribeTelemetry bool) (*Neighborhood, error) {
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("mesh: join: %w", err)
	}
	if leaders == nil {
		return nil, errors.New("mesh: join: nil LeaderView")
	}
	if m.adm != nil && id != m.adm.nbhd {
		// Admission knows one neighborhood's members: another's topics
		// would take anyone's messages.
		return nil, fmt.Errorf("mesh: join %s: admission is for neighborhood %s", id, m.adm.nbhd)
	}
	n := &Neighborhood{
		m: m, id: id, leaders: leaders,
		inbox: make(chan received, m.cfg.InboxSize), done: make(chan struct{}),
		plans:           make(chan receivedPlan, m.cfg.InboxSize),
		telemetryLimits: newLimiters(authorRate, authorBurst),
		planLimits:      newLimiters(authorRate, authorBurst),
	}

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := m.nbhds[id]; dup {
		m.mu.Unlock()
		return nil, fmt.Errorf("mesh: neighborhood %s already joined", id)
	}
	m.nbhds[id] = n // reserved; removed again if joining fails
	m.mu.Unlock()

	if err := n.join(subscribeTelemetry); err != nil {
		_ = n.Close() // undo what succeeded; the join error is the one that matters
		return nil, fmt.Errorf("mesh: join neighborhood %s: %w", id, err)
	}
	return n, nil
}

func (n *Neighborhood) join(subscribeTelemetry bool) error {
	ps := n.m.ps
	telemetry, plan := n.topic("telemetry"), n.topic("plan")
	// Inline: decoding is cheap and CPU-bound, not worth a goroutine each.
	inline := pubsub.WithValidatorInline(true)
	if err := ps.RegisterTopicValidator(telemetry, pubsub.ValidatorEx(n.validateTelemetry), inline); err != nil {
		return err
	}
	if err := ps.RegisterTopicValidator(plan, pubsub.ValidatorEx(n.validatePlan), inline); err != nil {
		return err
	}
	var err error
	if n.telemetry, err = ps.Join(telemetry); err != nil {
		return err
	}
	if n.plan, err = ps.Join(plan); err != nil {
		return err
	}
	for _, t := range []*pubsub.Topic{n.telemetry, n.plan} {
		if err := t.SetScoreParams(topicScoreParams()); err != nil {
			return err
		}
	}
	if err := n.SubscribePlans(true); err != nil {
		return err
	}
	n.m.host.SetStreamHandler(TelemetryProtocolID(n.id), n.handleTelemetry)
	n.m.host.SetStreamHandler(TelemetryFeedProtocolID(n.id), n.handleFeed)
	return n.SubscribeTelemetry(subscribeTelemetry)
}

// SubscribeTelemetry subscribes to the telemetry topic (on) or cancels
// the subscription (off); a no-op when already so. A home that only
// publishes telemetry costs its neighborhood nothing: gossip delivers a
// report to, and verifies its signature at, subscribers only, so homes
// that do not need the neighborhood's reports (neither leading nor able
// to lead soon) should not subscribe.
func (n *Neighborhood) SubscribeTelemetry(on bool) error {
	return n.toggle(&n.telemetrySub, on, n.telemetry, "telemetry", func(ctx context.Context, s *pubsub.Subscription) {
		pump(ctx, s, n.inbox, DecodeTelemetry, func(t gridmesh.Telemetry, from peer.ID) received { return received{t: t, from: from} })
	})
}

// toggled is a topic subscription that is turned on and off, and what
// ends its pump; off while sub is nil. Guarded by Neighborhood.subMu.
type toggled struct {
	sub  *pubsub.Subscription
	stop context.CancelFunc
}

// toggle subscribes t to topic (what names it in errors) and starts run
// on the subscription until it is cancelled or gossip stops (on), or
// ends both (off); a no-op when already so or when n is closed.
func (n *Neighborhood) toggle(t *toggled, on bool, topic *pubsub.Topic, what string, run func(context.Context, *pubsub.Subscription)) error {
	n.subMu.Lock()
	defer n.subMu.Unlock()
	if n.closed.Load() || (t.sub != nil) == on {
		return nil
	}
	if !on {
		t.stop()
		t.sub.Cancel()
		t.sub = nil
		return nil
	}
	s, err := topic.Subscribe(pubsub.WithBufferSize(n.m.cfg.InboxSize))
	if err != nil {
		return fmt.Errorf("mesh: subscribe to %s: %w", what, err)
	}
	ctx, stop := context.WithCancel(n.m.gossipCtx)
	t.sub, t.stop = s, stop
	go run(ctx, s)
	return nil
}

func (n *Neighborhood) topic(kind string) string { return TopicName(n.m.cfg.Network, n.id, kind) }

// ID returns the neighborhood's ID.
func (n *Neighborhood) ID() gridmesh.NeighborhoodID { return n.id }

// PublishTelemetry sends this home's report to the neighborhood. It
// reaches the voters this home is connected to, which forward it among
// themselves; a home that does not subscribe must therefore stay
// connected to at least one voter.
func (n *Neighborhood) PublishTelemetry(ctx context.Context, t gridmesh.Telemetry) error {
	if t.Neighborhood != n.id {
		return fmt.Errorf("mesh: publish telemetry: %w: for neighborhood %q on %q", gridmesh.ErrInvalid, t.Neighborhood, n.id)
	}
	b, err := EncodeTelemetry(t)
	if err != nil {
		return fmt.Errorf("mesh: publish %w", err)
	}
	if err := n.telemetry.Publish(ctx, b); err != nil {
		return fmt.Errorf("mesh: publish telemetry seq %d: %w", t.Seq, err)
	}
	return nil
}

// PublishPlan sends a committed plan to every home of the neighborhood,
// this one included. It returns a *RefusedError if this home's own
// LeaderView says it may not: only the leader of the plan's term
// publishes plans.
func (n *Neighborhood) PublishPlan(ctx context.Context, p gridmesh.Plan) error {
	if p.Neighborhood != n.id {
		return fmt.Errorf("mesh: publish plan: %w: for neighborhood %q on %q", gridmesh.ErrInvalid, p.Neighborhood, n.id)
	}
	leader, term := n.leaders.Leader()
	if verdict, reason := judgePlan(p, n.m.ID(), leader, term); verdict != pubsub.ValidationAccept {
		return &RefusedError{Reason: reason}
	}
	b, err := EncodePlan(p)
	if err != nil {
		return fmt.Errorf("mesh: publish %w", err)
	}
	if err := n.plan.Publish(ctx, b); err != nil {
		return fmt.Errorf("mesh: publish plan %s: %w", p.Epoch, err)
	}
	return nil
}

// NextTelemetry returns the next report accepted on the telemetry topic
// while this home subscribes (SubscribeTelemetry), including this home's
// own, or on a member's stream to this home (as leader: telemetry.go),
// and its author: the peer that signed it, or the stream's peer.
func (n *Neighborhood) NextTelemetry(ctx context.Context) (gridmesh.Telemetry, peer.ID, error) {
	r, err := receive(ctx, n, n.inbox)
	return r.t, r.from, err
}

// receive waits for the next of ch until ctx ends, the neighborhood is
// closed or gossip stops (ErrClosed).
func receive[R any](ctx context.Context, n *Neighborhood, ch <-chan R) (R, error) {
	var zero R
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-n.done:
		return zero, ErrClosed
	case <-n.m.gossipCtx.Done():
		return zero, ErrClosed
	}
}

// pump moves the messages sub delivers, as wrap makes them, to out
// until ctx ends (the subscription is cancelled, or gossip stops). A full
// out holds the pump, and gossipsub's own buffer drops what comes
// meanwhile. The telemetry subscription pumps into the inbox, the plan
// subscription into plans.
func pump[M, R any](ctx context.Context, sub *pubsub.Subscription, out chan<- R, decode func([]byte) (M, error), wrap func(M, peer.ID) R) {
	for {
		msg, err := sub.Next(ctx)
		if err != nil {
			return
		}
		v, ok := msg.ValidatorData.(M)
		if !ok { // cannot happen: our validator ran, but do not trust a type assertion blindly
			if v, err = decode(msg.Data); err != nil {
				continue
			}
		}
		select {
		case out <- wrap(v, msg.GetFrom()):
		case <-ctx.Done():
			return
		}
	}
}

// NextPlan returns the next plan accepted on the plan topic (while this
// home subscribes: SubscribePlans) or carried by the leader's beacon
// (DeliverPlan), and its author: the leader of its term as this home saw
// it when it judged the plan, possibly this home itself. Fencing (is it
// newer than the plan applied last?) is the caller's job; the same plan
// may come both ways.
func (n *Neighborhood) NextPlan(ctx context.Context) (gridmesh.Plan, peer.ID, error) {
	r, err := receive(ctx, n, n.plans)
	return r.p, r.from, err
}

// TelemetryPeers returns the connected peers known to subscribe to the
// telemetry topic (the voters in reach).
func (n *Neighborhood) TelemetryPeers() []peer.ID { return n.telemetry.ListPeers() }

// PlanPeers returns the connected peers known to subscribe to the plan
// topic.
func (n *Neighborhood) PlanPeers() []peer.ID { return n.plan.ListPeers() }

// Close cancels the subscriptions, leaves both topics and removes the
// validators, so the neighborhood can be joined again. Next calls
// blocked on it return ErrClosed. Close is idempotent.
func (n *Neighborhood) Close() error {
	n.closeOnce.Do(func() {
		n.closed.Store(true)
		close(n.done)
		n.m.host.RemoveStreamHandler(TelemetryProtocolID(n.id))
		n.m.host.RemoveStreamHandler(TelemetryFeedProtocolID(n.id))
		n.direct.close()
		defer func() {
			n.m.mu.Lock()
			delete(n.m.nbhds, n.id)
			n.m.mu.Unlock()
		}()
		if n.m.gossipCtx.Err() != nil {
			return // gossip is gone and took its state with it
		}
		var errs []error
		n.subMu.Lock()
		tsub, psub := n.telemetrySub.sub, n.planSub.sub
		for _, stop := range []context.CancelFunc{n.telemetrySub.stop, n.planSub.stop} {
			if stop != nil {
				stop()
			}
		}
		n.subMu.Unlock()
		for _, sub := range []*pubsub.Subscription{tsub, psub} {
			if sub != nil {
				sub.Cancel()
			}
		}
		for _, t := range []*pubsub.Topic{n.telemetry, n.plan} {
			if t != nil {
				errs = append(errs, t.Close())
			}
		}
		for _, name := range []string{n.topic("telemetry"), n.topic("plan")} {
			// An error here only means join failed before registering.
			_ = n.m.ps.UnregisterTopicValidator(name)
		}
		if err := errors.Join(errs...); err != nil {
			n.closeErr = fmt.Errorf("mesh: close neighborhood %s: %w", n.id, err)
		}
	})
	return n.closeErr
}
