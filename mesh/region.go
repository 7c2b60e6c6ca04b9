package mesh

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

// RegionConfig configures a home's view of its region: two gossip topics
// per deployment, RegionTopic, which carries operator signals to every
// home, and AggregatesTopic, which carries the neighborhoods' aggregates
// between their leaders only (aggregates.go).
type RegionConfig struct {
	// Name is the region signals must name (gridmesh.Signal.Region); ""
	// means the deployment's Network.
	Name string
	// OperatorKeys are the grid operators' ed25519 public keys. A signal
	// is accepted only if one of them signed it; with none, every signal
	// is refused.
	OperatorKeys []ed25519.PublicKey
	// NeighborhoodKeys are the membership public keys of the region's
	// neighborhoods. With admission on (Config.Admission), an aggregate is
	// accepted only with its author's certificate, signed by the key of
	// the neighborhood it claims; this home's own neighborhood's key is
	// taken from Config.Admission.
	NeighborhoodKeys map[gridmesh.NeighborhoodID]ed25519.PublicKey
	// AggregateMinInterval is the least time between two aggregates of one
	// author; faster ones are ignored (0: DefaultAggregateMinInterval).
	AggregateMinInterval time.Duration
}

const (
	// DefaultAggregateMinInterval: leaders send an aggregate every few
	// seconds (package node: 5 s); one more often than every 2 s is a
	// chatty or hostile peer, and the region topic crosses every home.
	DefaultAggregateMinInterval = 2 * time.Second
	// MaxRegionMessageBytes bounds a region message: a signal (~150
	// bytes), or an aggregate (~100) with a certificate (~300), with
	// CBOR framing, fit many times over.
	MaxRegionMessageBytes = 2 << 10
	// maxSignalStreams bounds the signal IDs a home remembers for replay
	// refusal. Only an operator key makes an entry, and an entry is
	// dropped once its signal has ended (after which Verify refuses it as
	// expired); when the memory is full of live signals, a new ID is
	// refused rather than an old one forgotten, so nothing can be
	// replayed.
	maxSignalStreams = 1024
	// maxAggregateAuthors bounds the authors whose last aggregate time is
	// remembered for the rate limit; past it, entries older than a minute
	// are dropped, then everything is (the limit restarts for everyone).
	maxAggregateAuthors = 4096
)

// Reasons a region message is refused, the keys of Region.Rejections.
// Signal reasons start with "signal/", aggregate reasons with
// "aggregate/"; a message that does not decode is refused before its kind
// is known.
const (
	ReasonRegionUndecodable = "undecodable"
	ReasonRegionInvalid     = "invalid"
	// ReasonSignalBadSignature: not signed by any configured operator key.
	ReasonSignalBadSignature = "signal/bad-signature"
	// ReasonSignalExpired: its window is over.
	ReasonSignalExpired = "signal/expired"
	// ReasonSignalTooEarly: it starts more than gridmesh.MaxSignalLeadMs
	// ahead.
	ReasonSignalTooEarly = "signal/too-early"
	// ReasonSignalReplayed: a Seq not above the highest seen for its ID
	// (the same step again, or an older one).
	ReasonSignalReplayed = "signal/replayed"
	// ReasonSignalWrongRegion: it asks another region.
	ReasonSignalWrongRegion = "signal/wrong-region"
	// ReasonSignalMemoryFull: maxSignalStreams live signals are
	// remembered already.
	ReasonSignalMemoryFull = "signal/memory-full"
	// ReasonAggregateStale: not gridmesh.Aggregate.Fresh now.
	ReasonAggregateStale = "aggregate/stale"
	// ReasonAggregateNonMember: with admission on, its author has no valid
	// certificate of the neighborhood it claims.
	ReasonAggregateNonMember = "aggregate/non-member"
	// ReasonAggregateTooFrequent: its author sent one less than
	// AggregateMinInterval ago.
	ReasonAggregateTooFrequent = "aggregate/too-frequent"
	// ReasonAggregateWrongTopic: an aggregate on the signals topic, which
	// every home receives; aggregates go to leaders only (AggregatesTopic).
	ReasonAggregateWrongTopic = "aggregate/wrong-topic"
	// ReasonSignalWrongTopic: a signal on the aggregates topic, which
	// homes that do not lead never see.
	ReasonSignalWrongTopic = "signal/wrong-topic"
)

var regionReasons = [...]string{
	ReasonRegionUndecodable, ReasonRegionInvalid,
	ReasonSignalBadSignature, ReasonSignalExpired, ReasonSignalTooEarly, ReasonSignalReplayed,
	ReasonSignalWrongRegion, ReasonSignalMemoryFull,
	ReasonAggregateStale, ReasonAggregateNonMember, ReasonAggregateTooFrequent,
	ReasonAggregateWrongTopic, ReasonSignalWrongTopic,
}

// RegionMessage is what travels on the region's topics: exactly one of a
// signed operator Signal (on RegionTopic) or a leader's Aggregate (on
// AggregatesTopic), the latter with its author's membership certificate
// when the deployment uses admission.
type RegionMessage struct {
	Version    uint16               `cbor:"1,keyasint"`
	Signal     *gridmesh.Signal     `cbor:"2,keyasint,omitempty"`
	Aggregate  *gridmesh.Aggregate  `cbor:"3,keyasint,omitempty"`
	Membership *gridmesh.Membership `cbor:"4,keyasint,omitempty"`
}

// Validate checks the version, that exactly one payload is set, and the
// payload's own Validate (and the certificate's, on an aggregate). It
// checks no signature.
func (m RegionMessage) Validate() error {
	if m.Version != gridmesh.WireVersion {
		return fmt.Errorf("%w: region message version %d, want %d", gridmesh.ErrInvalid, m.Version, gridmesh.WireVersion)
	}
	switch {
	case (m.Signal == nil) == (m.Aggregate == nil):
		return fmt.Errorf("%w: a region message carries a signal or an aggregate", gridmesh.ErrInvalid)
	case m.Signal != nil && m.Membership != nil:
		return fmt.Errorf("%w: a signal carries no certificate", gridmesh.ErrInvalid)
	case m.Signal != nil:
		return m.Signal.Validate()
	}
	if err := m.Aggregate.Validate(); err != nil {
		return err
	}
	if m.Membership != nil {
		return m.Membership.Validate()
	}
	return nil
}

// EncodeRegionMessage validates m and encodes it for the wire.
func EncodeRegionMessage(m RegionMessage) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("encode region message: %w", err)
	}
	b, err := encode("region message", m)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxRegionMessageBytes {
		return nil, fmt.Errorf("encode region message: %w: %d bytes, at most %d", gridmesh.ErrInvalid, len(b), MaxRegionMessageBytes)
	}
	return b, nil
}

// DecodeRegionMessage decodes and validates a region message of at most
// MaxRegionMessageBytes. Its errors wrap ErrUndecodable or
// gridmesh.ErrInvalid. It checks no signature.
func DecodeRegionMessage(b []byte) (RegionMessage, error) {
	return decodeValid[RegionMessage]("region message", b, MaxRegionMessageBytes)
}

// RegionTopic returns the gossip topic of a deployment's region, on which
// operators' signals reach every home.
func RegionTopic(network string) string { return "/gridmesh/" + network + "/region" }

// Region is this home's handle on the region topic. Every home joins it
// (homes must see signals); a leader also joins the aggregates topic
// through it (JoinAggregates). Its methods are safe for concurrent use.
type Region struct {
	m    *Mesh
	name string
	cfg  RegionConfig
	nbhd map[gridmesh.NeighborhoodID]ed25519.PublicKey
	rej  rejections
	now  func() time.Time

	topic *pubsub.Topic
	sub   *pubsub.Subscription

	mu      sync.Mutex                 // guards streams and lastAgg
	streams map[streamKey]signalStream // highest Seq per operator key and signal ID
	lastAgg map[peer.ID]time.Time      // last accepted aggregate's stamp per author
	joined  atomic.Bool                // the validator is registered
	closeMu sync.Once                  // Close runs once
	closeE  error                      // Close's result
	// certs are the aggregates' certificates already verified.
	certs certCache
}

type streamKey struct {
	op int // index in OperatorKeys
	id string
}

type signalStream struct {
	seq   uint64
	endMs int64
}

// JoinRegion joins the region topic, registers its validator and
// subscribes. Close the Region before the Mesh.
func (m *Mesh) JoinRegion() (*Region, error) {
	cfg := m.cfg.Region
	for i, k := range cfg.OperatorKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("mesh: join region: operator key %d of %d bytes, want %d", i, len(k), ed25519.PublicKeySize)
		}
	}
	if cfg.AggregateMinInterval <= 0 {
		cfg.AggregateMinInterval = DefaultAggregateMinInterval
	}
	name := m.cfg.RegionName()
	nbhd := make(map[gridmesh.NeighborhoodID]ed25519.PublicKey, len(cfg.NeighborhoodKeys)+1)
	for id, k := range cfg.NeighborhoodKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("mesh: join region: key of neighborhood %s of %d bytes", id, len(k))
		}
		nbhd[id] = k
	}
	if m.adm != nil {
		nbhd[m.adm.nbhd] = m.adm.cfg.NeighborhoodKey
	}
	rej := make(rejections, len(regionReasons))
	for _, reason := range regionReasons {
		rej[reason] = new(atomic.Uint64)
	}
	r := &Region{
		m: m, name: name, cfg: cfg, nbhd: nbhd, rej: rej, now: time.Now,
		streams: make(map[streamKey]signalStream),
		lastAgg: make(map[peer.ID]time.Time),
	}
	topic := RegionTopic(m.cfg.Network)
	if err := m.ps.RegisterTopicValidator(topic, pubsub.ValidatorEx(r.validate), pubsub.WithValidatorInline(true)); err != nil {
		return nil, fmt.Errorf("mesh: join region: %w", err)
	}
	r.joined.Store(true)
	var err error
	if r.topic, err = m.ps.Join(topic); err == nil {
		err = r.topic.SetScoreParams(topicScoreParams())
	}
	if err == nil {
		r.sub, err = r.topic.Subscribe(pubsub.WithBufferSize(m.cfg.InboxSize))
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("mesh: join region: %w", err), r.Close())
	}
	return r, nil
}

// Name is the region's name, the one signals must carry.
func (r *Region) Name() string { return r.name }

// PublishSignal sends a signed operator signal to the region. This home's
// own validator judges it first, like any other home's: a signal it would
// refuse is an error naming the reason.
func (r *Region) PublishSignal(ctx context.Context, s gridmesh.Signal) error {
	return r.publish(ctx, RegionMessage{Version: gridmesh.WireVersion, Signal: &s}, "signal "+s.ID)
}

func publishRegion(ctx context.Context, topic *pubsub.Topic, msg RegionMessage, what string) error {
	b, err := EncodeRegionMessage(msg)
	if err != nil {
		return fmt.Errorf("mesh: publish %s: %w", what, err)
	}
	if err := topic.Publish(ctx, b); err != nil {
		return fmt.Errorf("mesh: publish %s: %w", what, err)
	}
	return nil
}

func (r *Region) publish(ctx context.Context, msg RegionMessage, what string) error {
	return publishRegion(ctx, r.topic, msg, what)
}

// Next returns the next signal accepted on the region topic (this home's
// own included) and its author.
func (r *Region) Next(ctx context.Context) (RegionMessage, peer.ID, error) {
	return r.next(ctx, r.sub)
}

// next returns the next message accepted on sub, one of the region's
// subscriptions, and its author.
func (r *Region) next(ctx context.Context, sub *pubsub.Subscription) (RegionMessage, peer.ID, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.m.gossipCtx, cancel)()
	msg, err := sub.Next(ctx)
	switch {
	case errors.Is(err, pubsub.ErrSubscriptionCancelled), err != nil && r.m.gossipCtx.Err() != nil:
		return RegionMessage{}, "", ErrClosed
	case err != nil:
		return RegionMessage{}, "", err
	}
	v, ok := msg.ValidatorData.(RegionMessage)
	if !ok {
		if v, err = DecodeRegionMessage(msg.Data); err != nil {
			return RegionMessage{}, "", fmt.Errorf("mesh: accepted region message does not decode: %w", err)
		}
	}
	return v, msg.GetFrom(), nil
}

// Peers returns the connected peers known to subscribe to the region.
func (r *Region) Peers() []peer.ID { return r.topic.ListPeers() }

// Rejections returns how many region messages were refused, by reason
// (the ReasonRegion, ReasonSignal and ReasonAggregate constants). Every
// key is present.
func (r *Region) Rejections() map[string]uint64 { return r.rej.snapshot() }

// Close cancels the subscription, leaves the topic and removes the
// validator. It is idempotent.
func (r *Region) Close() error {
	r.closeMu.Do(func() {
		if r.m.gossipCtx.Err() != nil {
			return
		}
		if r.sub != nil {
			r.sub.Cancel()
		}
		var errs []error
		if r.topic != nil {
			errs = append(errs, r.topic.Close())
		}
		if r.joined.Load() {
			_ = r.m.ps.UnregisterTopicValidator(RegionTopic(r.m.cfg.Network))
		}
		if err := errors.Join(errs...); err != nil {
			r.closeE = fmt.Errorf("mesh: close region: %w", err)
		}
	})
	return r.closeE
}

// validate is the region topic's validator: signals only.
func (r *Region) validate(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	return r.validateOn(false, msg)
}

// validateOn judges a message of the region topic (aggregates false) or
// of the aggregates topic (true): it decodes once, refuses the kind that
// does not belong on the topic, judges the signal or aggregate and hands
// the decoded message on.
func (r *Region) validateOn(aggregates bool, msg *pubsub.Message) pubsub.ValidationResult {
	rm, err := DecodeRegionMessage(msg.Data)
	if err != nil {
		reason := ReasonRegionUndecodable
		if errors.Is(err, gridmesh.ErrInvalid) {
			reason = ReasonRegionInvalid
		}
		return r.refuse(msg, pubsub.ValidationReject, reason)
	}
	switch {
	case aggregates && rm.Signal != nil:
		return r.refuse(msg, pubsub.ValidationReject, ReasonSignalWrongTopic)
	case !aggregates && rm.Aggregate != nil:
		return r.refuse(msg, pubsub.ValidationReject, ReasonAggregateWrongTopic)
	}
	now := r.now()
	var verdict pubsub.ValidationResult
	var reason string
	if rm.Signal != nil {
		verdict, reason = r.judgeSignal(*rm.Signal, now)
	} else {
		verdict, reason = r.judgeAggregate(rm, msg.GetFrom(), now)
	}
	if verdict != pubsub.ValidationAccept {
		return r.refuse(msg, verdict, reason)
	}
	msg.ValidatorData = rm
	return pubsub.ValidationAccept
}

// judgeSignal accepts a signal for this region, signed by an operator
// key, in its window, with a Seq above any seen for its ID.
func (r *Region) judgeSignal(s gridmesh.Signal, now time.Time) (pubsub.ValidationResult, string) {
	if s.Region != r.name {
		return pubsub.ValidationReject, ReasonSignalWrongRegion
	}
	op := -1
	for i, k := range r.cfg.OperatorKeys {
		err := s.Verify(k, now)
		switch {
		case err == nil:
			op = i
		case errors.Is(err, gridmesh.ErrSignalExpired):
			return pubsub.ValidationIgnore, ReasonSignalExpired
		case errors.Is(err, gridmesh.ErrSignalTooEarly):
			return pubsub.ValidationIgnore, ReasonSignalTooEarly
		case errors.Is(err, gridmesh.ErrBadSignature):
			continue
		default:
			return pubsub.ValidationReject, ReasonRegionInvalid
		}
		break
	}
	if op < 0 {
		return pubsub.ValidationReject, ReasonSignalBadSignature
	}
	key := streamKey{op: op, id: s.ID}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.streams[key]; ok && s.Seq <= st.seq {
		return pubsub.ValidationIgnore, ReasonSignalReplayed
	}
	if _, ok := r.streams[key]; !ok && len(r.streams) >= maxSignalStreams {
		for k, st := range r.streams {
			if now.UnixMilli() >= st.endMs {
				delete(r.streams, k)
			}
		}
		if len(r.streams) >= maxSignalStreams {
			return pubsub.ValidationIgnore, ReasonSignalMemoryFull
		}
	}
	r.streams[key] = signalStream{seq: s.Seq, endMs: s.EndMs}
	return pubsub.ValidationAccept, ""
}

// judgeAggregate accepts a fresh aggregate whose signed stamp (AtMs)
// is at least AggregateMinInterval after its author's last accepted one
// and, with admission on, from an author holding a valid certificate of
// the neighborhood the aggregate is for. The interval is judged on the
// author's stamps, not on arrivals: gossip delivers two aggregates sent
// 2 s apart closer together when the first came late, and an author
// cannot stamp ahead of AggregateSkew, so its rate stays bounded. An
// older or equal stamp is a replay or a reordering: ignored.
func (r *Region) judgeAggregate(rm RegionMessage, author peer.ID, now time.Time) (pubsub.ValidationResult, string) {
	a := rm.Aggregate
	if !a.Fresh(now) {
		return pubsub.ValidationIgnore, ReasonAggregateStale
	}
	if r.m.adm != nil {
		c := rm.Membership
		key, known := r.nbhd[a.Neighborhood]
		if c == nil || !known || c.Peer != author.String() || r.certs.verify(*c, key, a.Neighborhood, now) != nil {
			return pubsub.ValidationReject, ReasonAggregateNonMember
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp := time.UnixMilli(a.AtMs)
	if last, ok := r.lastAgg[author]; ok && stamp.Sub(last) < r.cfg.AggregateMinInterval {
		return pubsub.ValidationIgnore, ReasonAggregateTooFrequent
	}
	if len(r.lastAgg) >= maxAggregateAuthors {
		for p, t := range r.lastAgg {
			if now.Sub(t) > time.Minute {
				delete(r.lastAgg, p)
			}
		}
		if len(r.lastAgg) >= maxAggregateAuthors {
			clear(r.lastAgg)
		}
	}
	r.lastAgg[author] = stamp
	return pubsub.ValidationAccept, ""
}

func (r *Region) refuse(msg *pubsub.Message, verdict pubsub.ValidationResult, reason string) pubsub.ValidationResult {
	r.rej.add(reason)
	r.m.log.Debug("region message refused", "reason", reason,
		"author", msg.GetFrom().String(), "via", msg.ReceivedFrom.String())
	return verdict
}
