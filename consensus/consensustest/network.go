package consensustest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gridmesh/gridmesh/internal/memconn"
)

// ErrUnreachable is returned by Connect and OpenStream for a peer that
// is not on the network, closed, or cut off by a partition.
var ErrUnreachable = errors.New("consensustest: peer unreachable")

// ErrNoProtocol is returned by OpenStream when the peer handles no
// protocol that accepts the stream's: as libp2p's negotiation fails.
var ErrNoProtocol = errors.New("consensustest: protocol not supported")

// Network carries Raft streams between Endpoints in memory. An Endpoint
// is a consensus.Transport (it matches that interface; this package
// does not import consensus, so the package's own tests may use it).
// Every wait is on a channel, so groups on it run inside testing/synctest
// bubbles: elections, failovers and partitions in virtual time.
//
// Partition and Heal cut and restore links; a cut resets the streams
// that crossed it, as a lost connection would, and refuses new ones.
type Network struct {
	mu    sync.Mutex // guards everything below
	peers map[peer.ID]*Endpoint
	cut   map[[2]peer.ID]bool // both orders of each pair
	links []*link
}

// link is one stream's two ends, kept so a partition can reset them.
type link struct {
	a, b   peer.ID
	ea, eb *memconn.Conn
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{peers: make(map[peer.ID]*Endpoint), cut: make(map[[2]peer.ID]bool)}
}

// Endpoint joins id to the network and returns its transport. A peer
// joined again (a restarted home) gets a fresh endpoint; the old one is
// closed.
func (n *Network) Endpoint(id peer.ID) *Endpoint {
	e := &Endpoint{net: n, id: id, handlers: make(map[protocol.ID]handler)}
	n.mu.Lock()
	old := n.peers[id]
	n.peers[id] = e
	n.mu.Unlock()
	if old != nil {
		old.close(false)
	}
	return e
}

// Partition cuts every link between a peer in side and a peer not in it,
// resetting the streams that crossed. Cuts add up until Heal.
func (n *Network) Partition(side ...peer.ID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for other := range n.peers {
		if slices.Contains(side, other) {
			continue
		}
		for _, p := range side {
			n.cut[[2]peer.ID{p, other}] = true
			n.cut[[2]peer.ID{other, p}] = true
		}
	}
	n.resetLocked(func(l *link) bool { return n.cut[[2]peer.ID{l.a, l.b}] })
}

// Heal restores every link Partition cut.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
}

// resetLocked resets the streams of the links drop picks and forgets
// them. n.mu must be held.
func (n *Network) resetLocked(drop func(*link) bool) {
	n.links = slices.DeleteFunc(n.links, func(l *link) bool {
		if !drop(l) {
			return false
		}
		_ = l.ea.Reset()
		_ = l.eb.Reset()
		return true
	})
}

// reachableLocked returns to's endpoint if from can reach it. n.mu must be
// held.
func (n *Network) reachableLocked(from, to peer.ID) (*Endpoint, error) {
	e := n.peers[to]
	if e == nil || n.cut[[2]peer.ID{from, to}] {
		return nil, fmt.Errorf("%w: %s", ErrUnreachable, to)
	}
	return e, nil
}

// Endpoint is one peer's transport on a Network. Its methods are safe
// for concurrent use.
type Endpoint struct {
	net *Network
	id  peer.ID

	mu       sync.Mutex // guards handlers and closed
	handlers map[protocol.ID]handler
	closed   bool
}

type handler struct {
	match  func(protocol.ID) bool
	handle func(net.Conn, peer.ID)
}

// LocalPeer is the endpoint's peer.
func (e *Endpoint) LocalPeer() peer.ID { return e.id }

// Listen hands inbound streams whose protocol match accepts to handle,
// each on a goroutine of its own.
func (e *Endpoint) Listen(base protocol.ID, match func(protocol.ID) bool, handle func(net.Conn, peer.ID)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handlers[base] = handler{match: match, handle: handle}
}

// Unlisten removes base's handler.
func (e *Endpoint) Unlisten(base protocol.ID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.handlers, base)
}

// Connect succeeds if id is reachable; memory needs no connection.
func (e *Endpoint) Connect(ctx context.Context, id peer.ID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	_, err := e.net.reachableLocked(e.id, id)
	return err
}

// OpenStream opens a stream of protocol p to id, handed to the handler
// of id whose match accepts p.
func (e *Endpoint) OpenStream(ctx context.Context, id peer.ID, p protocol.ID) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.isClosed() {
		return nil, net.ErrClosed
	}
	e.net.mu.Lock()
	to, err := e.net.reachableLocked(e.id, id)
	if err != nil {
		e.net.mu.Unlock()
		return nil, err
	}
	h, ok := to.handler(p)
	if !ok {
		e.net.mu.Unlock()
		return nil, fmt.Errorf("%w: %s by %s", ErrNoProtocol, p, id)
	}
	mine, theirs := memconn.Pipe(peerAddr(e.id), peerAddr(id))
	e.net.links = append(e.net.links, &link{a: e.id, b: id, ea: mine, eb: theirs})
	e.net.mu.Unlock()
	go h.handle(theirs, e.id)
	return mine, nil
}

// handler returns the handler that accepts p.
func (e *Endpoint) handler(p protocol.ID) (handler, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return handler{}, false
	}
	for _, h := range e.handlers {
		if h.match(p) {
			return h, true
		}
	}
	return handler{}, false
}

// Protect does nothing: memory has no connection manager to trim links.
func (e *Endpoint) Protect(peer.ID, string) {}

// Unprotect does nothing; see Protect.
func (e *Endpoint) Unprotect(peer.ID, string) {}

// Close takes the endpoint off the network, as a killed process's host
// goes: its streams are reset and nothing reaches it any more.
func (e *Endpoint) Close() error {
	e.close(true)
	return nil
}

func (e *Endpoint) close(leave bool) {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	n := e.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if leave && n.peers[e.id] == e {
		delete(n.peers, e.id)
	}
	n.resetLocked(func(l *link) bool { return l.a == e.id || l.b == e.id })
}

func (e *Endpoint) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// peerAddr is a peer ID seen as a net.Addr; its String is the Raft
// ServerAddress.
type peerAddr peer.ID

func (a peerAddr) Network() string { return "memory" }
func (a peerAddr) String() string  { return peer.ID(a).String() }

// NewPeerIDs returns n peer IDs of fresh Ed25519 identities.
func NewPeerIDs(t testing.TB, n int) []peer.ID {
	t.Helper()
	ids := make([]peer.ID, n)
	for i := range ids {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatalf("peer key: %v", err)
		}
		if ids[i], err = peer.IDFromPublicKey(pub); err != nil {
			t.Fatalf("peer ID: %v", err)
		}
	}
	return ids
}
