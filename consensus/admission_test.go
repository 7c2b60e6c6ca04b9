package consensus

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh/consensus/consensustest"
)

// admitSet is an Admit function a test changes as it goes, counting
// its calls.
type admitSet struct {
	ok    atomic.Pointer[peer.ID]
	calls atomic.Int64
}

func (a *admitSet) admit(p peer.ID) bool {
	a.calls.Add(1)
	q := a.ok.Load()
	return q != nil && *q == p
}

func (a *admitSet) set(p peer.ID) { a.ok.Store(&p) }

// memLayers returns a stream layer for each of two peers of an
// in-memory network, configured by cfg(i), and their IDs. Admission is
// the layer's policy, the same on any transport: these tests run it in
// virtual time.
func memLayers(t *testing.T, cfg func(i int) layerConfig) ([2]*streamLayer, []peer.ID) {
	t.Helper()
	net := consensustest.NewNetwork()
	ids := consensustest.NewPeerIDs(t, 2)
	var ls [2]*streamLayer
	for i := range ls {
		ls[i] = newConfiguredLayer(t, net.Endpoint(ids[i]), "a", cfg(i))
	}
	return ls, ids
}

// A stream from a peer that is not admitted is reset, and counted; one
// from a peer admitted while its stream waits goes through.
func TestStreamLayerResetsStreamsFromNonMembers(t *testing.T) {
	synctest.Test(t, testResetsStreamsFromNonMembers)
}

func testResetsStreamsFromNonMembers(t *testing.T) {
	var adm admitSet
	ls, ids := memLayers(t, func(i int) layerConfig {
		if i == 0 {
			return layerConfig{queueLen: acceptQueueLen, admit: adm.admit}
		}
		return layerConfig{queueLen: acceptQueueLen}
	})
	srv, cli := ls[0], ls[1]

	c, err := cli.Dial(addrOfPeer(ids[0]), dialTimeout)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(dialTimeout))
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("stream from a non-member: read %v, want a reset", err)
	}
	if n := srv.refused.Load(); n != 1 {
		t.Fatalf("%d refused streams counted, want 1", n)
	}
	if len(srv.accept) != 0 {
		t.Fatal("a non-member's stream was queued for raft")
	}

	// Admitted while its stream waits: it reaches raft.
	accepted := acceptOne(srv)
	c, err = cli.Dial(addrOfPeer(ids[0]), dialTimeout)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if _, err := c.Write([]byte{2}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	before := adm.calls.Load()
	consensustest.WaitFor(t, dialTimeout, func() error {
		if adm.calls.Load() < before+2 {
			return errors.New("the stream is not waiting for admission")
		}
		return nil
	})
	adm.set(ids[1])
	s, ok := <-accepted
	if !ok {
		t.Fatal("Accept failed")
	}
	if b := make([]byte, 1); func() error { _, err := io.ReadFull(s, b); return err }() != nil || b[0] != 2 {
		t.Fatal("admitted member's stream did not carry its byte")
	}
	if n := srv.refused.Load(); n != 1 {
		t.Fatalf("%d refused streams counted, want still 1", n)
	}
}

// Dial refuses a peer that is not admitted by the end of its timeout,
// and dials one that is.
func TestStreamLayerDialsMembersOnly(t *testing.T) {
	synctest.Test(t, testDialsMembersOnly)
}

func testDialsMembersOnly(t *testing.T) {
	var adm admitSet
	ls, ids := memLayers(t, func(i int) layerConfig {
		if i == 1 {
			return layerConfig{queueLen: acceptQueueLen, admit: adm.admit}
		}
		return layerConfig{queueLen: acceptQueueLen}
	})
	cli := ls[1]

	if _, err := cli.Dial(addrOfPeer(ids[0]), 200*time.Millisecond); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("Dial to a non-member: %v, want ErrNotAdmitted", err)
	}
	if n := cli.refused.Load(); n != 1 {
		t.Fatalf("%d refused dials counted, want 1", n)
	}
	adm.set(ids[0])
	c, err := cli.Dial(addrOfPeer(ids[0]), dialTimeout)
	if err != nil {
		t.Fatalf("Dial to a member: %v", err)
	}
	_ = c.Close()
}
