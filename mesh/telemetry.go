package mesh

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gridmesh/gridmesh"
)

// Telemetry to the leader. Only the leader plans from a home's reports,
// yet on the telemetry topic every subscriber (the voters, an archiver)
// received each report, with its duplicates, and checked its signature:
// per report, a frame through yamux and Noise at each end and an ed25519
// check at every subscriber. A home that knows its leader therefore
// sends its reports on a stream to the leader alone (TelemetryProtocolID):
// one frame, authenticated by the connection's secure channel (the
// author is the stream's remote peer), no signature to check. The topic
// stays for what needs everyone: a home that knows no leader (founding,
// an election), the leader's own reports, and an announcement from every
// home every so often (merging two clusters of one neighborhood needs
// each side to hear the other's homes).
//
// An archiver is not the leader: it follows the leader's feed
// (TelemetryFeedProtocolID), on which the leader passes on every report
// it received on a stream, each with the peer that sent it. Every report
// thus travels one way only, the stream or the topic, and an archiver
// that reads both holds each once.

// Protocol prefixes: a neighborhood's ID follows.
const (
	telemetryProtocolPrefix     = "/gridmesh/telemetry/1.0.0/"
	telemetryFeedProtocolPrefix = "/gridmesh/telemetry-feed/1.0.0/"
)

// TelemetryProtocolID is the protocol on which a home sends neighborhood
// n's leader its reports.
func TelemetryProtocolID(n gridmesh.NeighborhoodID) protocol.ID {
	return protocol.ID(telemetryProtocolPrefix + string(n))
}

// TelemetryFeedProtocolID is the protocol on which a leader of
// neighborhood n passes on the reports it received on streams.
func TelemetryFeedProtocolID(n gridmesh.NeighborhoodID) protocol.ID {
	return protocol.ID(telemetryFeedProtocolPrefix + string(n))
}

// Bounds of the streams, and why.
const (
	// directTimeout bounds opening the stream to the leader and writing
	// one report: a connected peer takes a millisecond; a report that
	// cannot go in 500 ms goes on the topic instead, and the sender never
	// holds a newer report longer than that.
	directTimeout = 500 * time.Millisecond
	// directIdle is how long a leader keeps a sender's stream open with
	// nothing on it: a home reports at least every heartbeat (seconds),
	// so a minute of silence is a home that went away.
	directIdle = time.Minute
	// feedIdle is how long a follower of the feed waits for a report
	// before it asks again whom to follow: a neighborhood's homes report
	// several times a second, so five silent seconds is a leader that no
	// longer leads (its homes moved on) or is gone.
	feedIdle = 5 * time.Second
	// feedQueue is how many reports wait for one feed follower: about
	// ten seconds of a 25-home neighborhood. A follower that falls
	// further behind loses the newest, counted.
	feedQueue = 256
	// feedReplay and feedReplayAge bound what a leader replays to a
	// follower that comes (or comes back): the newest reports, received
	// within the last minute: what its homes sent since it was elected,
	// before an archiver learned that it leads (512 is about 20 s of a
	// 25-home neighborhood reporting on change). The follower drops what
	// it already holds.
	feedReplay    = 512
	feedReplayAge = time.Minute
	// maxFeeds bounds the followers of one leader's feed: an archiver or
	// two per neighborhood.
	maxFeeds = 4
	// maxFeedFrameBytes bounds a feed frame: a peer ID's bytes (under
	// 64) after their length, and a report.
	maxFeedFrameBytes = MaxMessageBytes + 128
)

// received is a report as NextTelemetry returns it: from the topic or a
// stream. raw is the report's encoding as it came on a stream, passed on
// to the feed; nil for the topic's.
type received struct {
	t    gridmesh.Telemetry
	from peer.ID
	raw  []byte
}

// directSender holds a home's stream to its leader. Send is called by
// one goroutine at a time (the home's telemetry sender); the mutex makes
// Close safe beside it.
type directSender struct {
	mu  sync.Mutex
	to  peer.ID
	s   network.Stream
	buf []byte
}

// SendTelemetry sends this home's report to peer to (the neighborhood's
// leader) on a stream it keeps open between reports, opening one to a
// new leader as the leader changes. It returns an error if the report
// could not be written within a short timeout; the caller then publishes
// it on the topic.
func (n *Neighborhood) SendTelemetry(ctx context.Context, to peer.ID, t gridmesh.Telemetry) error {
	if t.Neighborhood != n.id {
		return fmt.Errorf("mesh: send telemetry: %w: for neighborhood %q on %q", gridmesh.ErrInvalid, t.Neighborhood, n.id)
	}
	if to == n.m.ID() {
		return errors.New("mesh: send telemetry: to this home itself")
	}
	b, err := EncodeTelemetry(t)
	if err != nil {
		return fmt.Errorf("mesh: send %w", err)
	}
	d := &n.direct
	d.mu.Lock()
	defer d.mu.Unlock()
	if n.closed.Load() {
		return ErrClosed
	}
	if d.s != nil && d.to != to {
		_ = d.s.Close()
		d.s = nil
	}
	if d.s == nil {
		octx, cancel := context.WithTimeout(ctx, directTimeout)
		s, err := n.m.host.NewStream(octx, to, TelemetryProtocolID(n.id))
		cancel()
		if err != nil {
			return fmt.Errorf("mesh: send telemetry to %s: %w", to, err)
		}
		d.s, d.to = s, to
	}
	d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(b)))
	d.buf = append(d.buf, b...)
	_ = d.s.SetWriteDeadline(time.Now().Add(directTimeout))
	if _, err := d.s.Write(d.buf); err != nil {
		_ = d.s.Reset()
		d.s = nil
		return fmt.Errorf("mesh: send telemetry seq %d to %s: %w", t.Seq, to, err)
	}
	return nil
}

// closeDirect closes the stream to the leader, if one is open.
func (d *directSender) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.s != nil {
		_ = d.s.Close()
		d.s = nil
	}
}

// readFrame reads one frame: a uvarint length of at most max, then as
// many bytes. A length out of bounds is an error wrapping
// ErrUndecodable; the stream's own errors (io.EOF between frames, a
// deadline, a reset) are returned wrapped as they are.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	var size uint64
	for shift := 0; ; shift += 7 {
		c, err := r.ReadByte()
		if err != nil {
			if shift > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		size |= uint64(c&0x7f) << shift
		if size > uint64(max) || shift > 21 {
			return nil, fmt.Errorf("%w: frame longer than %d bytes", ErrUndecodable, max)
		}
		if c < 0x80 {
			break
		}
	}
	if size == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrUndecodable)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("frame of %d bytes: %w", size, err)
	}
	return b, nil
}

// handleTelemetry reads the reports a member sends this home on a
// stream, judges each as the topic's validator does (the author is the
// stream's peer, its rate judged on the report's own stamps), and
// delivers them to NextTelemetry and the feed. A stranger's stream, or
// one that breaks the framing or sends what does not decode, is reset
// and counted.
func (n *Neighborhood) handleTelemetry(s network.Stream) {
	from := s.Conn().RemotePeer()
	r := bufio.NewReaderSize(s, 512)
	for {
		if !n.m.Admitted(from) {
			n.m.rejections.add(ReasonNonMember)
			_ = s.Reset()
			return
		}
		_ = s.SetReadDeadline(time.Now().Add(directIdle))
		b, err := readFrame(r, MaxMessageBytes)
		if err == nil {
			var t gridmesh.Telemetry
			if t, err = DecodeTelemetry(b); err == nil {
				n.judgeDirect(t, from, b)
				continue
			}
			n.m.rejections.add(decodeReason(err))
		} else if errors.Is(err, ErrUndecodable) {
			n.m.rejections.add(ReasonUndecodable)
		}
		if err == io.EOF {
			_ = s.Close()
		} else {
			_ = s.Reset()
		}
		return
	}
}

// judgeDirect delivers a decoded report from a stream if the topic's
// validator would have: the author within its rate, the report of this
// neighborhood.
func (n *Neighborhood) judgeDirect(t gridmesh.Telemetry, from peer.ID, raw []byte) {
	switch {
	case !n.telemetryLimits.allowAt(from, time.Now(), time.UnixMilli(t.AtMs)):
		n.m.rejections.add(ReasonAuthorOverRate)
	case t.Neighborhood != n.id:
		n.m.rejections.add(ReasonWrongNeighborhood)
	default:
		n.directIn.Add(1)
		n.deliverTelemetry(received{t: t, from: from, raw: raw})
		n.feeds.pass(from, raw)
	}
}

// deliverTelemetry hands a report to NextTelemetry; a full inbox drops
// it, counted (the next report of its home replaces it).
func (n *Neighborhood) deliverTelemetry(r received) {
	select {
	case n.inbox <- r:
	default:
		n.inboxDropped.Add(1)
	}
}

// DirectTraffic is what a home's telemetry streams carried.
type DirectTraffic struct {
	// Received counts reports accepted from members' streams (as
	// leader).
	Received uint64
	// InboxDropped counts reports from streams that arrived with
	// NextTelemetry's inbox full (the topic's wait in gossipsub's own
	// buffer, which drops when it fills).
	InboxDropped uint64
	// Fed counts reports passed on to feed followers; FeedDropped those
	// a follower that fell feedQueue behind lost.
	Fed, FeedDropped uint64
}

// DirectTraffic returns the counts of this neighborhood's telemetry
// streams.
func (n *Neighborhood) DirectTraffic() DirectTraffic {
	return DirectTraffic{Received: n.directIn.Load(), InboxDropped: n.inboxDropped.Load(), Fed: n.feeds.fed.Load(), FeedDropped: n.feeds.dropped.Load()}
}

// feeds are a leader's followers of its feed.
type feeds struct {
	mu   sync.Mutex
	outs map[*feedOut]struct{}
	// replay holds the newest feedReplay frames, oldest first from
	// replayAt (a ring once full).
	replay   []replayed
	replayAt int
	// fed counts reports queued for a follower, dropped those a
	// follower that fell behind lost.
	fed, dropped atomic.Uint64
}

// replayed is a frame kept for replay, and when it was received.
type replayed struct {
	frame []byte
	at    time.Time
}

// feedOut is one follower's queue.
type feedOut struct{ q chan []byte }

// pass queues a report received on a stream for every follower, and
// keeps it for the next to come.
func (f *feeds) pass(from peer.ID, raw []byte) {
	frame := appendFeedFrame(nil, from, raw)
	kept := replayed{frame, time.Now()}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.replay) < feedReplay {
		f.replay = append(f.replay, kept)
	} else {
		f.replay[f.replayAt] = kept
		f.replayAt = (f.replayAt + 1) % feedReplay
	}
	for o := range f.outs {
		select {
		case o.q <- frame:
			f.fed.Add(1)
		default:
			f.dropped.Add(1)
		}
	}
}

// add registers a follower and returns the frames to replay to it,
// oldest first, those received after since; or nil if there are
// maxFeeds already.
func (f *feeds) add(since time.Time) (*feedOut, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.outs) >= maxFeeds {
		return nil, nil
	}
	if f.outs == nil {
		f.outs = make(map[*feedOut]struct{})
	}
	o := &feedOut{q: make(chan []byte, feedQueue)}
	f.outs[o] = struct{}{}
	var replay []byte
	for _, r := range slices.Concat(f.replay[f.replayAt:], f.replay[:f.replayAt]) {
		if r.at.After(since) {
			replay = append(replay, r.frame...)
		}
	}
	return o, replay
}

func (f *feeds) remove(o *feedOut) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.outs, o)
}

// appendFeedFrame appends one feed frame: its body's length, then the
// body (appendFeedFrameBody).
func appendFeedFrame(b []byte, from peer.ID, raw []byte) []byte {
	id := []byte(from)
	size := uvarintLen(uint64(len(id))) + len(id) + len(raw)
	b = binary.AppendUvarint(b, uint64(size))
	return appendFeedFrameBody(b, from, raw)
}

// appendFeedFrameBody appends a feed frame's body: the peer ID's length
// and bytes, then the report's encoding.
func appendFeedFrameBody(b []byte, from peer.ID, raw []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(from)))
	b = append(b, from...)
	return append(b, raw...)
}

func uvarintLen(v uint64) int {
	var tmp [binary.MaxVarintLen64]byte
	return binary.PutUvarint(tmp[:], v)
}

// DecodeFeedFrame decodes one feed frame's body (after its length): the
// sending peer and its report. Anything malformed is an error wrapping
// ErrUndecodable or gridmesh.ErrInvalid.
func DecodeFeedFrame(b []byte) (gridmesh.Telemetry, peer.ID, error) {
	size, k := binary.Uvarint(b)
	if k <= 0 || size == 0 || size > uint64(len(b)-k) {
		return gridmesh.Telemetry{}, "", fmt.Errorf("%w: feed frame: peer ID length", ErrUndecodable)
	}
	from, err := peer.IDFromBytes(b[k : k+int(size)])
	if err != nil {
		return gridmesh.Telemetry{}, "", fmt.Errorf("%w: feed frame: peer ID: %v", ErrUndecodable, err)
	}
	t, err := DecodeTelemetry(b[k+int(size):])
	if err != nil {
		return gridmesh.Telemetry{}, "", fmt.Errorf("feed frame: %w", err)
	}
	return t, from, nil
}

// handleFeed serves a member that follows this home's feed: the newest
// reports received on streams (feedReplay), then every one from now on,
// until the follower goes away.
func (n *Neighborhood) handleFeed(s network.Stream) {
	if !n.m.Admitted(s.Conn().RemotePeer()) {
		n.m.rejections.add(ReasonNonMember)
		_ = s.Reset()
		return
	}
	o, replay := n.feeds.add(time.Now().Add(-feedReplayAge))
	if o == nil {
		_ = s.Reset()
		return
	}
	defer n.feeds.remove(o)
	_ = s.CloseRead()
	if len(replay) > 0 {
		_ = s.SetWriteDeadline(time.Now().Add(feedIdle))
		if _, err := s.Write(replay); err != nil {
			_ = s.Reset()
			return
		}
	}
	for {
		select {
		case frame := <-o.q:
			_ = s.SetWriteDeadline(time.Now().Add(directTimeout))
			if _, err := s.Write(frame); err != nil {
				_ = s.Reset()
				return
			}
		case <-n.done:
			_ = s.Close()
			return
		}
	}
}

// FollowFeed follows peer leader's feed: it calls deliver with every
// report the leader passes on, and returns when ctx ends, the stream
// breaks, deliver returns an error (which it returns), or nothing came
// for a few seconds (the leader may no longer lead: the caller asks again
// whom to follow). A malformed frame ends it with an error wrapping
// ErrUndecodable or gridmesh.ErrInvalid, counted.
func (n *Neighborhood) FollowFeed(ctx context.Context, leader peer.ID, deliver func(gridmesh.Telemetry, peer.ID) error) error {
	octx, cancel := context.WithTimeout(ctx, directTimeout)
	s, err := n.m.host.NewStream(octx, leader, TelemetryFeedProtocolID(n.id))
	cancel()
	if err != nil {
		return fmt.Errorf("mesh: follow feed of %s: %w", leader, err)
	}
	defer s.Reset()
	defer context.AfterFunc(ctx, func() { _ = s.Reset() })()
	r := bufio.NewReaderSize(s, 4096)
	for {
		_ = s.SetReadDeadline(time.Now().Add(feedIdle))
		b, err := readFrame(r, maxFeedFrameBytes)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, ErrUndecodable) {
				n.m.rejections.add(ReasonUndecodable)
			}
			return fmt.Errorf("mesh: follow feed of %s: %w", leader, err)
		}
		t, from, err := DecodeFeedFrame(b)
		if err != nil {
			n.m.rejections.add(decodeReason(err))
			return fmt.Errorf("mesh: follow feed of %s: %w", leader, err)
		}
		if t.Neighborhood != n.id {
			n.m.rejections.add(ReasonWrongNeighborhood)
			continue
		}
		if err := deliver(t, from); err != nil {
			return err
		}
	}
}
