package consensus

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
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

// A stream from a peer that is not admitted is reset, and counted; one
// from a peer admitted while its stream waits goes through.
func TestStreamLayerResetsStreamsFromNonMembers(t *testing.T) {
	hs := consensustest.NewHosts(t, 2)
	var adm admitSet
	srv, cli := newConfiguredLayer(t, hs[0], "a", layerConfig{queueLen: acceptQueueLen, admit: adm.admit}), newTestLayer(t, hs[1], "a", acceptQueueLen)

	c, err := cli.Dial(addrOf(hs[0]), dialTimeout)
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
	c, err = cli.Dial(addrOf(hs[0]), dialTimeout)
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
	adm.set(hs[1].ID())
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
	hs := consensustest.NewHosts(t, 2)
	var adm admitSet
	newTestLayer(t, hs[0], "a", acceptQueueLen)
	cli := newConfiguredLayer(t, hs[1], "a", layerConfig{queueLen: acceptQueueLen, admit: adm.admit})

	if _, err := cli.Dial(addrOf(hs[0]), 200*time.Millisecond); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("Dial to a non-member: %v, want ErrNotAdmitted", err)
	}
	if n := cli.refused.Load(); n != 1 {
		t.Fatalf("%d refused dials counted, want 1", n)
	}
	adm.set(hs[0].ID())
	c, err := cli.Dial(addrOf(hs[0]), dialTimeout)
	if err != nil {
		t.Fatalf("Dial to a member: %v", err)
	}
	_ = c.Close()
}
