package mesh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"

	"github.com/gridmesh/gridmesh/internal/backoff"
)

// dialTimeout bounds one attempt to reach a bootstrap peer: a TCP, Noise
// and yamux handshake takes milliseconds even on a loaded testnet, so 10 s
// only expires for a black-holed address, and stays well under RedialMax.
const dialTimeout = 10 * time.Second

// bootstrapTag protects bootstrap connections from the connection
// manager's trimming on this side.
const bootstrapTag = "gridmesh-bootstrap"

// Run dials the bootstrap peers and keeps them connected until ctx ends:
// when one drops it is dialed again, with capped exponential backoff and
// jitter while it fails or its connections do not last. With admission
// on, it also presents this home's certificate to every peer that
// connects (or was connected before Run) and refuses those that present
// none in time. Run returns nil once ctx ends and all its goroutines have
// exited; it may be called once.
func (m *Mesh) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("mesh: Run called twice")
	}
	if len(m.bootstrap) == 0 && m.adm == nil && m.cfg.OperatorPass == nil {
		<-ctx.Done()
		return nil
	}
	// Deferred in this order: close (and drain) the subscription, an
	// unread one blocks the host's event emitters; stop the keepers; wait
	// for them.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := m.host.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.Name("gridmesh bootstrap"))
	if err != nil {
		return fmt.Errorf("mesh: run: %w", err)
	}
	defer sub.Close()

	// dropped[id] is signalled (never blocking: one pending signal is
	// enough) when peer id may have disconnected.
	dropped := make(map[peer.ID]chan struct{}, len(m.bootstrap))
	for _, ai := range m.bootstrap {
		dropped[ai.ID] = make(chan struct{}, 1)
	}
	for _, ai := range m.bootstrap {
		wg.Go(func() { m.keepConnected(ctx, ai, dropped[ai.ID]) })
	}
	// Peers that connected before the subscription: one connecting
	// meanwhile is seen twice, which only presents twice.
	for _, p := range m.host.Network().Peers() {
		m.greet(ctx, &wg, p)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.Out():
			if !ok {
				return errors.New("mesh: run: host event bus closed")
			}
			ev, _ := e.(event.EvtPeerConnectednessChanged)
			if ev.Connectedness == network.Connected {
				m.greet(ctx, &wg, ev.Peer)
			}
			if ch, ok := dropped[ev.Peer]; ok && ev.Connectedness != network.Connected {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}
}

// greet starts, for a peer that just connected, the admission exchange
// (admission on) or the presentation of the operator's pass.
func (m *Mesh) greet(ctx context.Context, wg *sync.WaitGroup, p peer.ID) {
	switch {
	case m.adm != nil:
		wg.Go(func() { m.presentOwn(ctx, p) })
		wg.Go(func() { m.admitPeer(ctx, p) })
	case m.cfg.OperatorPass != nil:
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, DefaultAdmissionTimeout)
			defer cancel()
			if err := present(ctx, m.host, p, OperatorAdmitProtocol, *m.cfg.OperatorPass); err != nil {
				m.log.Debug("operator pass not presented", "peer", p.String(), "err", err)
			}
		})
	}
}

// keepConnected owns the connection to one bootstrap peer.
func (m *Mesh) keepConnected(ctx context.Context, ai peer.AddrInfo, dropped <-chan struct{}) {
	log := m.log.With("bootstrap", ai.ID.String())
	m.host.ConnManager().Protect(ai.ID, bootstrapTag)
	defer m.host.ConnManager().Unprotect(ai.ID, bootstrapTag)
	// Bootstrap addresses are configuration: keep them past any dial.
	m.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)

	b := backoff.New(m.cfg.RedialMin, m.cfg.RedialMax)
	var since time.Time // when the current connection was made
	for {
		if m.host.Network().Connectedness(ai.ID) != network.Connected {
			if err := m.dial(ctx, ai); err != nil {
				if ctx.Err() != nil {
					return
				}
				delay := b.Next()
				log.Debug("bootstrap peer unreachable", "err", err, "retry_in", delay)
				if !backoff.Sleep(ctx, delay) {
					return
				}
				continue
			}
			since = time.Now()
			log.Debug("connected to bootstrap peer")
		}
		select {
		case <-ctx.Done():
			return
		case <-dropped:
		}
		if m.host.Network().Connectedness(ai.ID) == network.Connected {
			continue // another connection remains
		}
		// A connection that lasted resets the backoff; one dropped soon
		// after it was made (the peer trims or refuses us) does not, so a
		// full peer is not redialed in a tight loop.
		if time.Since(since) >= m.cfg.RedialMax {
			b.Reset()
			log.Debug("bootstrap peer dropped; redialing")
			continue
		}
		delay := b.Next()
		log.Debug("bootstrap connection short-lived; backing off", "retry_in", delay)
		if !backoff.Sleep(ctx, delay) {
			return
		}
	}
}

// dial makes one attempt to connect to ai, bypassing the swarm's own dial
// backoff: keepConnected paces the attempts.
func (m *Mesh) dial(ctx context.Context, ai peer.AddrInfo) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return m.host.Connect(network.WithForceDirectDial(ctx, "gridmesh bootstrap"), ai)
}
