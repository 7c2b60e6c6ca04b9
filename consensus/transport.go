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
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gridmesh/gridmesh"
)

// protocolPrefix starts the protocol ID of every neighborhood's Raft group.
const protocolPrefix = "/gridmesh/raft/2.0.0/"

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

// Transport carries a member's Raft streams between peers. Open takes
// it, as hashicorp/raft's NewRaft takes its transport: NewHostTransport
// puts the streams on the home's libp2p host; consensustest.Network keeps
// them in memory, for tests in testing/synctest bubbles. The policy over
// it is the group's own and is the same on either: streams name their
// neighborhood and cluster in their protocol ID, a member refuses another
// cluster's and a peer not admitted, and a full accept queue resets.
//
// Streams are net.Conns whose RemoteAddr and LocalAddr String is the peer
// ID; one that has a Reset() error method is reset, not closed, when
// refused.
type Transport interface {
	// LocalPeer is the peer this transport speaks for: the member's
	// Raft ServerID.
	LocalPeer() peer.ID
	// Listen hands every inbound stream whose protocol ID starts with base
	// and which match accepts to handle, on a goroutine of its own,
	// until Unlisten(base). A later Listen of the same base replaces it.
	Listen(base protocol.ID, match func(protocol.ID) bool, handle func(s net.Conn, from peer.ID))
	// Unlisten stops handing streams of base.
	Unlisten(base protocol.ID)
	// Connect connects to id without opening a stream; the two peers
	// then admit each other (see Config.Admit).
	Connect(ctx context.Context, id peer.ID) error
	// OpenStream opens a stream of protocol p to id.
	OpenStream(ctx context.Context, id peer.ID, p protocol.ID) (net.Conn, error)
	// Protect keeps the connections to id open while tag holds them,
	// against a connection manager trimming them; Unprotect lets go.
	Protect(id peer.ID, tag string)
	Unprotect(id peer.ID, tag string)
}

// streamLayer is a raft.StreamLayer over a Transport's streams of one
// neighborhood's protocol.
//
// Inbound streams wait in a bounded queue for Accept; when the queue is
// full a new stream is reset at once (the dialer sees a reset and raft
// retries on its next RPC). Every stream handed out is tracked so Close
// can close them all, pooled or being served: closing the layer is how
// the transport (rpctransport.go) ends every stream at once.
type streamLayer struct {
	tr      Transport
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

// newStreamLayer registers the neighborhood's stream handler on tr. The
// whole configuration is set before, since the handler reads it from the
// first inbound stream on.
func newStreamLayer(tr Transport, n gridmesh.NeighborhoodID, cfg layerConfig, log *slog.Logger) *streamLayer {
	cluster := cfg.cluster
	if cluster == nil {
		cluster = func() string { return "" }
	}
	l := &streamLayer{
		tr:      tr,
		proto:   ProtocolID(n),
		log:     log,
		admit:   cfg.admit,
		cluster: cluster,
		accept:  make(chan *streamConn, cfg.queueLen),
		done:    make(chan struct{}),
		conns:   make(map[*streamConn]struct{}),
		peers:   make(map[peer.ID]struct{}),
	}
	tr.Listen(l.proto, l.match, l.handle)
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
func (l *streamLayer) handle(s net.Conn, p peer.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), admitWait)
	ok := l.awaitAdmitted(ctx, p)
	cancel()
	if !ok {
		l.refused.Add(1)
		l.log.Info("raft stream from a peer not admitted, reset", "peer", p.String())
		reset(s)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		reset(s)
		return
	}
	c := &streamConn{Conn: s, layer: l}
	select {
	case l.accept <- c:
		l.conns[c] = struct{}{}
		l.protectLocked(p)
	default:
		l.log.Warn("raft accept queue full, stream reset", "peer", p.String())
		reset(s)
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
		if err := l.tr.Connect(ctx, id); err != nil {
			return nil, fmt.Errorf("connect to raft peer %s: %w", id, err)
		}
		if !l.awaitAdmitted(ctx, id) {
			l.refused.Add(1)
			return nil, fmt.Errorf("open raft stream to %s: %w", id, ErrNotAdmitted)
		}
	}
	s, err := l.tr.OpenStream(ctx, id, clusterProtocol(l.proto, l.cluster()))
	if err != nil {
		return nil, fmt.Errorf("open raft stream to %s: %w", id, err)
	}
	c := &streamConn{Conn: s, layer: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		reset(s)
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
		l.tr.Protect(p, string(l.proto))
	}
}

// Addr names the local peer.
func (l *streamLayer) Addr() net.Addr { return peerAddr(l.tr.LocalPeer()) }

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
		l.tr.Unprotect(p, string(l.proto))
	}
	l.peers = nil
	l.mu.Unlock()

	l.tr.Unlisten(l.proto)
	close(l.done)
	for c := range conns {
		_ = c.Conn.Close()
	}
	return nil
}

// awaitAdmitted reports whether p is admitted, waiting for that until ctx
// ends or the layer closes.
func (l *streamLayer) awaitAdmitted(ctx context.Context, p peer.ID) bool {
	return awaitAdmitted(ctx, l.admit, p, l.done)
}

// awaitAdmitted reports whether admit admits p (nil admits everyone),
// waiting for that until ctx ends or done closes.
func awaitAdmitted(ctx context.Context, admit func(peer.ID) bool, p peer.ID, done <-chan struct{}) bool {
	if admit == nil || admit(p) {
		return true
	}
	tick := time.NewTicker(admitPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return admit(p)
		case <-done:
			return false
		case <-tick.C:
			if admit(p) {
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

// streamConn is a Raft stream as raft sees it: tracked by its layer,
// held while the layer is paused, and ending with io.EOF once the layer
// is closed.
type streamConn struct {
	net.Conn
	layer *streamLayer
}

var _ net.Conn = (*streamConn)(nil)

// Read reads from the stream; once the layer is closed, a failed read
// reports io.EOF: the stream ended because we stopped, not because of a
// fault.
func (c *streamConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.layer.hold()
	if err != nil && c.layer.isClosed() {
		err = io.EOF
	}
	return n, err
}

// Write writes to the stream, once the layer is not paused.
func (c *streamConn) Write(b []byte) (int, error) {
	c.layer.hold()
	return c.Conn.Write(b)
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

// Close closes the stream both ways and stops tracking it.
func (c *streamConn) Close() error {
	c.layer.forget(c)
	return c.Conn.Close()
}

// reset resets s if its transport can (a libp2p stream: the peer sees a
// reset, not an orderly end), or closes it.
func reset(s net.Conn) {
	if r, ok := s.(interface{ Reset() error }); ok {
		_ = r.Reset()
		return
	}
	_ = s.Close()
}

// peerAddr is a peer ID seen as a net.Addr; its String is the raft
// ServerAddress.
type peerAddr peer.ID

func (a peerAddr) Network() string { return "libp2p" }
func (a peerAddr) String() string  { return peer.ID(a).String() }
