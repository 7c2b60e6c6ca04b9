package memnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/gridmesh/gridmesh/internal/memconn"
)

// ErrRefused is a dial's error when nothing listens at the address.
var ErrRefused = errors.New("memnet: connection refused")

// firstEphemeralPort is where the ports of dialing ends and of ":0"
// listens start, as the kernel's ephemeral range does.
const firstEphemeralPort = 32768

// Network is a network of libp2p hosts in memory: a transport that
// listens on and dials TCP multiaddrs (/ip4/127.0.0.1/tcp/N) without a
// socket. Connections are upgraded as TCP's are (Noise, yamux, the
// resource manager, the connection gater), so a host on it is the
// product's host but for the kernel. Every wait is on a channel, so whole
// homes run on it inside testing/synctest bubbles, in virtual time.
//
// Install it with mesh.WithTransport(n.Transport()).
type Network struct {
	mu        sync.Mutex // guards listeners and nextPort
	listeners map[netip.AddrPort]*memListener
	nextPort  uint16
}

// New returns a network with nothing listening.
func New() *Network {
	return &Network{listeners: make(map[netip.AddrPort]*memListener), nextPort: firstEphemeralPort}
}

// Transport is the libp2p option that installs the network as a host's
// transport.
func (n *Network) Transport() libp2p.Option {
	return libp2p.Transport(func(u transport.Upgrader, rcmgr network.ResourceManager) *memTransport {
		return &memTransport{net: n, up: u, rcmgr: rcmgr}
	})
}

// port returns a port free at ip. n.mu must be held.
func (n *Network) portLocked(ip netip.Addr) uint16 {
	for {
		p := n.nextPort
		n.nextPort++
		if n.nextPort == 0 {
			n.nextPort = firstEphemeralPort
		}
		if _, taken := n.listeners[netip.AddrPortFrom(ip, p)]; !taken {
			return p
		}
	}
}

// memTransport is one host's transport on a Network.
type memTransport struct {
	net   *Network
	up    transport.Upgrader
	rcmgr network.ResourceManager
}

var _ transport.Transport = (*memTransport)(nil)

// tcpAddr returns the IP and port of a /ip4|ip6/…/tcp/N multiaddr.
func tcpAddr(a ma.Multiaddr) (netip.AddrPort, error) {
	na, err := manet.ToNetAddr(a)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ta, ok := na.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%s is not a TCP address", a)
	}
	return ta.AddrPort(), nil
}

func (t *memTransport) CanDial(a ma.Multiaddr) bool {
	_, err := tcpAddr(a)
	return err == nil
}

func (t *memTransport) Protocols() []int { return []int{ma.P_TCP} }
func (t *memTransport) Proxy() bool      { return false }

func (t *memTransport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	scope, err := t.rcmgr.OpenConnection(network.DirOutbound, true, raddr)
	if err != nil {
		return nil, err
	}
	c, err := t.dial(ctx, raddr, p, scope)
	if err != nil {
		scope.Done()
		return nil, err
	}
	return c, nil
}

func (t *memTransport) dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID, scope network.ConnManagementScope) (transport.CapableConn, error) {
	if err := scope.SetPeer(p); err != nil {
		return nil, err
	}
	to, err := tcpAddr(raddr)
	if err != nil {
		return nil, err
	}
	t.net.mu.Lock()
	l := t.net.listeners[to]
	from := netip.AddrPortFrom(to.Addr(), t.net.portLocked(to.Addr()))
	t.net.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("dial %s: %w", raddr, ErrRefused)
	}
	mine, theirs := memconn.Pipe(net.TCPAddrFromAddrPort(from), net.TCPAddrFromAddrPort(to))
	if err := l.deliver(ctx, theirs); err != nil {
		return nil, fmt.Errorf("dial %s: %w", raddr, err)
	}
	mc, err := manet.WrapNetConn(mine)
	if err != nil {
		return nil, err
	}
	dir := network.DirOutbound
	if ok, isClient, _ := network.GetSimultaneousConnect(ctx); ok && !isClient {
		dir = network.DirInbound
	}
	return t.up.Upgrade(ctx, t, mc, dir, p, scope)
}

func (t *memTransport) Listen(laddr ma.Multiaddr) (transport.Listener, error) {
	at, err := tcpAddr(laddr)
	if err != nil {
		return nil, err
	}
	t.net.mu.Lock()
	if at.Port() == 0 {
		at = netip.AddrPortFrom(at.Addr(), t.net.portLocked(at.Addr()))
	}
	if _, taken := t.net.listeners[at]; taken {
		t.net.mu.Unlock()
		return nil, fmt.Errorf("listen %s: address already in use", at)
	}
	l := &memListener{net: t.net, at: at, accept: make(chan net.Conn), done: make(chan struct{})}
	t.net.listeners[at] = l
	t.net.mu.Unlock()
	ml, err := manet.WrapNetListener(l)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return t.up.UpgradeGatedMaListener(t, t.up.GateMaListener(ml)), nil
}

// memListener is a net.Listener on a Network.
type memListener struct {
	net    *Network
	at     netip.AddrPort
	accept chan net.Conn // unbuffered: a dial waits for Accept, as a full backlog makes it
	once   sync.Once
	done   chan struct{} // closed by Close
}

var _ net.Listener = (*memListener)(nil)

// deliver hands c to Accept, or fails when the listener closes or ctx
// ends first.
func (l *memListener) deliver(ctx context.Context, c *memconn.Conn) error {
	select {
	case l.accept <- c:
		return nil
	case <-l.done:
		return ErrRefused
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		if l.net.listeners[l.at] == l {
			delete(l.net.listeners, l.at)
		}
		l.net.mu.Unlock()
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.at) }
