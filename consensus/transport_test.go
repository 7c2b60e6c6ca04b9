package consensus

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus/consensustest"
)

// dialTimeout is generous: it bounds a test's failure, not its speed.
const dialTimeout = 5 * time.Second

func newTestLayer(t *testing.T, h host.Host, n string, queueLen int) *streamLayer {
	t.Helper()
	return newConfiguredLayer(t, NewHostTransport(h), n, layerConfig{queueLen: queueLen})
}

// newConfiguredLayer is newTestLayer with the whole configuration, on
// any transport.
func newConfiguredLayer(t *testing.T, tr Transport, n string, cfg layerConfig) *streamLayer {
	t.Helper()
	l := newStreamLayer(tr, gridmesh.NeighborhoodID("nb-"+n), cfg, consensustest.Logger(t))
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func addrOf(h host.Host) raft.ServerAddress { return raft.ServerAddress(h.ID().String()) }

func addrOfPeer(id peer.ID) raft.ServerAddress { return raft.ServerAddress(id.String()) }

// acceptOne accepts in the background, so a test can dial meanwhile.
func acceptOne(l *streamLayer) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			ch <- c
		}
		close(ch)
	}()
	return ch
}

func TestStreamLayerCarriesBytesAndDeadlines(t *testing.T) {
	hs := consensustest.NewHosts(t, 2)
	srv, cli := newTestLayer(t, hs[0], "a", acceptQueueLen), newTestLayer(t, hs[1], "a", acceptQueueLen)
	if got := srv.Addr().String(); got != hs[0].ID().String() {
		t.Fatalf("Addr = %s, want the peer ID %s", got, hs[0].ID())
	}
	accepted := acceptOne(srv)

	c, err := cli.Dial(addrOf(hs[0]), dialTimeout)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if c.LocalAddr().String() != hs[1].ID().String() || c.RemoteAddr().String() != hs[0].ID().String() {
		t.Errorf("dialed conn %s → %s, want %s → %s", c.LocalAddr(), c.RemoteAddr(), hs[1].ID(), hs[0].ID())
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	s, ok := <-accepted
	if !ok {
		t.Fatal("Accept failed")
	}
	if s.RemoteAddr().String() != hs[1].ID().String() {
		t.Errorf("accepted conn from %s, want %s", s.RemoteAddr(), hs[1].ID())
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("server read %q, %v", buf, err)
	}
	if _, err := s.Write([]byte("pong")); err != nil {
		t.Fatalf("server Write: %v", err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("client read %q, %v", buf, err)
	}

	// A deadline reaches the stream: a read with nothing to read times out.
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("SetReadDeadline: %v", err)
	}
	var ne net.Error
	if _, err := c.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read past deadline: %v, want a timeout", err)
	}
}

func TestStreamLayerKeepsNeighborhoodsApart(t *testing.T) {
	hs := consensustest.NewHosts(t, 2)
	newTestLayer(t, hs[0], "a", acceptQueueLen)
	other := newTestLayer(t, hs[1], "b", acceptQueueLen)

	c, err := other.Dial(addrOf(hs[0]), dialTimeout)
	if err != nil {
		return // refused at negotiation: what we want
	}
	// Negotiation may be lazy: then the first exchange fails.
	_, _ = c.Write([]byte{1})
	_ = c.SetReadDeadline(time.Now().Add(dialTimeout))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a stream of neighborhood b reached neighborhood a's group")
	}
}

// reaches reports whether a stream dialed by cli reaches srv's Accept
// and carries a byte.
func reaches(t *testing.T, cli, srv *streamLayer, to host.Host) bool {
	t.Helper()
	accepted := acceptOne(srv)
	c, err := cli.Dial(addrOf(to), dialTimeout)
	if err != nil {
		return false
	}
	defer c.Close()
	if _, err := c.Write([]byte{7}); err != nil {
		return false
	}
	select {
	case s, ok := <-accepted:
		if !ok {
			return false
		}
		defer s.Close()
		b := make([]byte, 1)
		_, err := io.ReadFull(s, b)
		return err == nil && b[0] == 7
	case <-time.After(dialTimeout):
		return false
	}
}

// Two clusters of one neighborhood do not reach each other's members;
// a member that names no cluster yet reaches, and is reached by, any.
func TestStreamLayerKeepsClustersApart(t *testing.T) {
	for _, tc := range []struct {
		dialer, listener string
		want             bool
	}{
		{"A", "A", true},
		{"A", "B", false},
		{"B", "A", false},
		{"", "B", true},
		{"A", "", true},
		{"", "", true},
	} {
		hs := consensustest.NewHosts(t, 2)
		named := func(name string) func() string { return func() string { return name } }
		srv := newConfiguredLayer(t, NewHostTransport(hs[0]), "a", layerConfig{queueLen: acceptQueueLen, cluster: named(tc.listener)})
		cli := newConfiguredLayer(t, NewHostTransport(hs[1]), "a", layerConfig{queueLen: acceptQueueLen, cluster: named(tc.dialer)})
		if got := reaches(t, cli, srv, hs[0]); got != tc.want {
			t.Errorf("cluster %q dialing cluster %q: reached %v, want %v", tc.dialer, tc.listener, got, tc.want)
		}
		wantRefused := uint64(0)
		if !tc.want {
			wantRefused = 1
		}
		if got := srv.otherCluster.Load(); got != wantRefused {
			t.Errorf("cluster %q dialing cluster %q: %d streams refused as another cluster's, want %d", tc.dialer, tc.listener, got, wantRefused)
		}
	}
}

func TestStreamLayerResetsWhenQueueFull(t *testing.T) {
	hs := consensustest.NewHosts(t, 2)
	srv, cli := newTestLayer(t, hs[0], "a", 1), newTestLayer(t, hs[1], "a", acceptQueueLen)

	dialAndSend := func() net.Conn {
		c, err := cli.Dial(addrOf(hs[0]), dialTimeout)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		return c
	}
	dialAndSend()
	consensustest.WaitFor(t, dialTimeout, func() error {
		if n := len(srv.accept); n != 1 {
			return fmt.Errorf("%d streams queued, want 1", n)
		}
		return nil
	})
	second := dialAndSend()
	_ = second.SetReadDeadline(time.Now().Add(dialTimeout))
	var ne net.Error
	if _, err := second.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("stream past a full queue: read %v, want a reset", err)
	}

	// The queued stream is still there for Accept.
	c, err := srv.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("read queued stream: %v", err)
	}
}

func TestStreamLayerCloseUnblocksAcceptAndResetsStreams(t *testing.T) {
	hs := consensustest.NewHosts(t, 2)
	srv, cli := newTestLayer(t, hs[0], "a", acceptQueueLen), newTestLayer(t, hs[1], "a", acceptQueueLen)

	accepted := acceptOne(srv)
	c, err := cli.Dial(addrOf(hs[0]), dialTimeout)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, ok := <-accepted; !ok {
		t.Fatal("Accept failed")
	}

	blocked := make(chan error, 1)
	go func() {
		_, err := srv.Accept()
		blocked <- err
	}()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-blocked:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(dialTimeout):
		t.Fatal("Accept still blocked after Close")
	}

	// The stream it had accepted is closed, so the peer's read ends.
	_ = c.SetReadDeadline(time.Now().Add(dialTimeout))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("peer read after Close: %v, want EOF", err)
	}
	if _, err := srv.Dial(addrOf(hs[1]), dialTimeout); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial after Close: %v, want net.ErrClosed", err)
	}
}
