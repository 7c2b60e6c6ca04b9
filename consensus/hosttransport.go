package consensus

import (
	"context"
	"net"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// NewHostTransport carries Raft streams as libp2p streams on h, the host
// the home already runs: no second port. Inbound streams are matched by
// the host's multistream negotiation; the peerstore must hold the
// addresses of every member (see the package documentation).
func NewHostTransport(h host.Host) Transport { return hostTransport{h} }

// hostTransport is a Transport on a libp2p host.
type hostTransport struct{ h host.Host }

var _ Transport = hostTransport{}

func (t hostTransport) LocalPeer() peer.ID { return t.h.ID() }

func (t hostTransport) Listen(base protocol.ID, match func(protocol.ID) bool, handle func(net.Conn, peer.ID)) {
	t.h.SetStreamHandlerMatch(base, match, func(s network.Stream) {
		handle(hostStream{s}, s.Conn().RemotePeer())
	})
}

func (t hostTransport) Unlisten(base protocol.ID) { t.h.RemoveStreamHandler(base) }

func (t hostTransport) Connect(ctx context.Context, id peer.ID) error {
	return t.h.Connect(ctx, peer.AddrInfo{ID: id})
}

func (t hostTransport) OpenStream(ctx context.Context, id peer.ID, p protocol.ID) (net.Conn, error) {
	// A relayed (limited) connection serves Raft until a hole punch
	// replaces it with a direct one: a home behind NAT votes and follows.
	s, err := t.h.NewStream(network.WithAllowLimitedConn(ctx, "raft"), id, p)
	if err != nil {
		return nil, err
	}
	return hostStream{s}, nil
}

func (t hostTransport) Protect(id peer.ID, tag string)   { t.h.ConnManager().Protect(id, tag) }
func (t hostTransport) Unprotect(id peer.ID, tag string) { t.h.ConnManager().Unprotect(id, tag) }

// hostStream is a libp2p stream seen as a net.Conn whose addresses are
// peer IDs; Reset and deadlines go to the stream.
type hostStream struct{ network.Stream }

var _ net.Conn = hostStream{}

func (s hostStream) LocalAddr() net.Addr  { return peerAddr(s.Conn().LocalPeer()) }
func (s hostStream) RemoteAddr() net.Addr { return peerAddr(s.Conn().RemotePeer()) }
