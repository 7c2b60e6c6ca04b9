package consensus

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gridmesh/gridmesh"
)

// protocolPrefix starts the protocol ID of every neighborhood's Raft group.
const protocolPrefix = "/gridmesh/raft/1.0.0/"

// acceptQueueLen bounds the inbound streams waiting for raft's listener.
// Why 16: the listener hands every accepted stream to a goroutine of its
// own at once, so the queue fills only when the listener is stuck or
// gone; a peer opens only a few streams to us (raft pools up to maxPool
// idle ones per peer, plus a pipeline), one at a time as RPCs need them,
// so 16 absorbs any burst of a healthy group.
const acceptQueueLen = 16

// admitWait bounds how long an inbound stream from a peer not (yet)
// admitted waits for its admission before it is reset. Why 1 s: a
// member's first Raft stream may race the certificate it presented on
// connecting, whose check takes milliseconds; a stranger, which will
// never be admitted, holds one goroutine per stream for no longer than
// this.
const admitWait = time.Second

// admitPoll is how often a stream waiting for its peer's admission asks
// again. Why 5 ms: admission lands milliseconds after a connection, so a
// first RPC is delayed by about that much at most; the check is a map
// lookup, so polling costs nothing measurable, and an admitted peer never
// polls.
const admitPoll = 5 * time.Millisecond

// ProtocolID is the libp2p protocol carrying neighborhood n's Raft group.
// The neighborhood is part of the ID so a misconfigured home cannot reach
// another neighborhood's group: its streams fail protocol negotiation.
func ProtocolID(n gridmesh.NeighborhoodID) protocol.ID {
	return protocol.ID(protocolPrefix + string(n))
}

// streamLayer is a raft.StreamLayer over libp2p streams of one
// neighborhood's protocol on a shared host.
//
// Inbound streams wait in a bounded queue for Accept; when the queue is
// full a new stream is reset at once (the dialer sees a reset and raft
// retries on its next RPC). Every stream handed out is tracked so Close
// can close them all: raft's NetworkTransport neither closes its pooled
// connections nor the inbound ones its handlers block on.
type streamLayer struct {
	host    host.Host
	proto   protocol.ID
	log     *slog.Logger
	admit   func(peer.ID) bool // nil admits everyone; fixed at construction
	cluster func() string      // this member's cluster, "" for none yet
	refused atomic.Uint64      // streams reset or not opened: peer not admitted
	// otherCluster counts inbound streams refused because they named
	// another cluster of the neighborhood.
	otherCluster atomic.Uint64
	accept       chan *streamConn // bounded; full: the new stream is reset
	done         chan struct{}    // closed by Close; unblocks Accept and admission waits

	mu     sync.Mutex // guards closed, conns and peers
	closed bool
	conns  map[*streamConn]struct{}
	// paused, while set, holds every read and write until it is closed:
	// a process stopped (SIGSTOP) as its peers see it (see Group.Pause).
	paused atomic.Pointer[chan struct{}]
	// peers are the peers raft has talked to, whose connections the
	// connection manager is told not to trim from under raft's pooled
	// streams; Close lifts the protection.
	peers map[peer.ID]struct{}
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// layerConfig is what a stream layer is built with.
type layerConfig struct {
	queueLen int                // the accept queue's length
	admit    func(peer.ID) bool // nil admits everyone
	// cluster names the Raft cluster this member belongs to or asks to
	// join, "" for none yet; nil is always "".
	cluster func() string
}

// newStreamLayer registers the neighborhood's stream handler on h. The
// whole configuration is set before, since the handler reads it from the
// first inbound stream on.
func newStreamLayer(h host.Host, n gridmesh.NeighborhoodID, cfg layerConfig, log *slog.Logger) *streamLayer {
	cluster := cfg.cluster
	if cluster == nil {
		cluster = func() string { return "" }
	}
	l := &streamLayer{
		host:    h,
		proto:   ProtocolID(n),
		log:     log,
		admit:   cfg.admit,
		cluster: cluster,
		accept:  make(chan *streamConn, cfg.queueLen),
		done:    make(chan struct{}),
		conns:   make(map[*streamConn]struct{}),
		peers:   make(map[peer.ID]struct{}),
	}
	h.SetStreamHandlerMatch(l.proto, l.match, l.handle)
	return l
}

// clusterProtocol is the protocol a member of cluster dials: the
// neighborhood's, then the cluster's name ("" before it has one).
func clusterProtocol(base protocol.ID, cluster string) protocol.ID {
	return protocol.ID(string(base) + "/" + cluster)
}

// match accepts a stream of this neighborhood's protocol unless it names
// a cluster other than this member's. Two clusters of one neighborhood
// exist only until the merge rule joins them (node/formation.go), and
// meanwhile one must not reach the other's members: a follower answering
// a leader with the other cluster's newer term deposes that leader,
// again at each election, and the neighborhood goes without plans. As
// etcd's transport refuses a mismatched cluster ID, so does this. A side
// that names no cluster yet (no state, or not yet applied the name)
// talks to any.
func (l *streamLayer) match(p protocol.ID) bool {
	theirs, ok := strings.CutPrefix(string(p), string(l.proto)+"/")
	if !ok {
		return p == l.proto // a member that names no cluster
	}
	if mine := l.cluster(); theirs != "" && mine != "" && theirs != mine {
		l.otherCluster.Add(1)
		l.log.Debug("raft stream from another cluster refused", "theirs", theirs, "ours", mine)
		return false
	}
	return true
}

// handle queues an inbound stream for Accept, or resets it when its peer
// is not admitted within admitWait, the layer is closed or the queue is
// full.
func (l *streamLayer) handle(s network.Stream) {
	p := s.Conn().RemotePeer()
	ctx, cancel := context.WithTimeout(context.Background(), admitWait)
	ok := l.awaitAdmitted(ctx, p)
	cancel()
	if !ok {
		l.refused.Add(1)
		l.log.Info("raft stream from a peer not admitted, reset", "peer", p.String())
		_ = s.Reset()
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = s.Reset()
		return
	}
	c := &streamConn{s: s, layer: l}
	select {
	case l.accept <- c:
		l.conns[c] = struct{}{}
		l.protectLocked(p)
	default:
		l.log.Warn("raft accept queue full, stream reset", "peer", s.Conn().RemotePeer())
		_ = s.Reset()
	}
}

// Accept returns the next inbound stream, or net.ErrClosed once the layer
// is closed.
func (l *streamLayer) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Dial opens a stream to the peer whose ID string is address, using the
// addresses in the host's peerstore. A peer not yet admitted is connected
// to first, which makes the two present their certificates, and the
// stream is opened only once it is admitted, within timeout.
func (l *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	id, err := peer.Decode(string(address))
	if err != nil {
		return nil, fmt.Errorf("raft address %q is not a peer ID: %w", address, err)
	}
	if l.isClosed() {
		return nil, net.ErrClosed
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if l.admit != nil && !l.admit(id) {
		if err := l.host.Connect(ctx, peer.AddrInfo{ID: id}); err != nil {
			return nil, fmt.Errorf("connect to raft peer %s: %w", id, err)
		}
		if !l.awaitAdmitted(ctx, id) {
			l.refused.Add(1)
			return nil, fmt.Errorf("open raft stream to %s: %w", id, ErrNotAdmitted)
		}
	}
	s, err := l.host.NewStream(network.WithAllowLimitedConn(ctx, "raft"), id, clusterProtocol(l.proto, l.cluster())) // a relayed connection serves until a hole punch replaces it
	if err != nil {
		return nil, fmt.Errorf("open raft stream to %s: %w", id, err)
	}
	c := &streamConn{s: s, layer: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = s.Reset()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	l.protectLocked(id)
	return c, nil
}

// protectLocked keeps the connection manager from trimming p's
// connections while the layer is open. l.mu must be held.
func (l *streamLayer) protectLocked(p peer.ID) {
	if _, ok := l.peers[p]; !ok {
		l.peers[p] = struct{}{}
		l.host.ConnManager().Protect(p, string(l.proto))
	}
}

// Addr names the local peer.
func (l *streamLayer) Addr() net.Addr { return peerAddr(l.host.ID()) }

// Close removes the stream handler, unblocks Accept and closes every
// stream the layer handed out, queued or in use: peers read EOF, and
// reads blocked here end with io.EOF, so raft's handlers exit without
// reporting an error for an orderly stop. It is idempotent.
func (l *streamLayer) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := l.conns
	l.conns = nil
	for p := range l.peers {
		l.host.ConnManager().Unprotect(p, string(l.proto))
	}
	l.peers = nil
	l.mu.Unlock()

	l.host.RemoveStreamHandler(l.proto)
	close(l.done)
	for c := range conns {
		_ = c.s.Close()
	}
	return nil
}

// awaitAdmitted reports whether p is admitted, waiting for that until ctx
// ends or the layer closes.
func (l *streamLayer) awaitAdmitted(ctx context.Context, p peer.ID) bool {
	if l.admit == nil || l.admit(p) {
		return true
	}
	tick := time.NewTicker(admitPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return l.admit(p)
		case <-l.done:
			return false
		case <-tick.C:
			if l.admit(p) {
				return true
			}
		}
	}
}

func (l *streamLayer) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *streamLayer) forget(c *streamConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c) // no-op on the nil map after Close
}

// streamConn is a libp2p stream seen as a net.Conn. Deadlines go to the
// stream.
type streamConn struct {
	s     network.Stream
	layer *streamLayer
}

var _ net.Conn = (*streamConn)(nil)

// Read reads from the stream; once the layer is closed, a failed read
// reports io.EOF: the stream ended because we stopped, not because of a
// fault.
func (c *streamConn) Read(b []byte) (int, error) {
	n, err := c.s.Read(b)
	c.layer.hold()
	if err != nil && c.layer.isClosed() {
		err = io.EOF
	}
	return n, err
}

// Write writes to the stream, once the layer is not paused.
func (c *streamConn) Write(b []byte) (int, error) {
	c.layer.hold()
	return c.s.Write(b)
}

// hold waits while the layer is paused, or until it closes.
func (l *streamLayer) hold() {
	if p := l.paused.Load(); p != nil {
		select {
		case <-*p:
		case <-l.done:
		}
	}
}
func (c *streamConn) SetDeadline(t time.Time) error      { return c.s.SetDeadline(t) }
func (c *streamConn) SetReadDeadline(t time.Time) error  { return c.s.SetReadDeadline(t) }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return c.s.SetWriteDeadline(t) }
func (c *streamConn) LocalAddr() net.Addr                { return peerAddr(c.s.Conn().LocalPeer()) }
func (c *streamConn) RemoteAddr() net.Addr               { return peerAddr(c.s.Conn().RemotePeer()) }

// Close closes the stream both ways and stops tracking it.
func (c *streamConn) Close() error {
	c.layer.forget(c)
	return c.s.Close()
}

// peerAddr is a peer ID seen as a net.Addr; its String is the raft
// ServerAddress.
type peerAddr peer.ID

func (a peerAddr) Network() string { return "libp2p" }
func (a peerAddr) String() string  { return peer.ID(a).String() }
