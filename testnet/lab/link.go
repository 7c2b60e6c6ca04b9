package lab

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"
)

// mtu is the links' MTU, a typical Ethernet's.
const mtu = 1500

// linkQueue bounds the packets in flight on one direction of a link.
// At 20 Mbit/s and 40 ms of delay about 70 full packets are in flight;
// 4096 is room for bursts of small ones. A full queue drops the packet
// (counted as a queue drop), as a router's buffer would.
const linkQueue = 4096

// linkStats counts one link's packets. Written by the link's
// goroutines, read by anyone.
type linkStats struct {
	packets, lost, burstLost, queueDropped atomic.Uint64
	// downDropped and impairedLost count what an Impairment dropped.
	downDropped, impairedLost atomic.Uint64
}

// packet is one packet on its way through a link.
type packet struct {
	data   []byte
	depart time.Time
}

// carry copies packets from src to dst through a shaper until ctx ends
// or src fails: the reader decides each packet's fate at once, the
// writer releases it at its departure time. It returns when both have
// stopped.
// imp is read at every packet: the scenarios set it.
func carry(ctx context.Context, src, dst *os.File, p Profile, seed uint64, imp *atomic.Pointer[Impairment], st *linkStats) error {
	q := make(chan packet, linkQueue)
	done := make(chan struct{})
	go func() { defer close(done); release(ctx, q, dst) }()
	err := readInto(ctx, src, p, seed, imp, st, q)
	close(q)
	<-done
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// readInto reads packets from src and queues those the shaper keeps.
func readInto(ctx context.Context, src *os.File, p Profile, seed uint64, imp *atomic.Pointer[Impairment], st *linkStats, q chan<- packet) error {
	s := newShaper(p, rand.New(rand.NewPCG(seed, seed>>1|1)))
	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		n, err := src.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		st.packets.Add(1)
		var cur Impairment
		if p := imp.Load(); p != nil {
			cur = *p
		}
		v := s.admit(time.Now(), n, cur)
		if v.Drop {
			switch v.Reason {
			case "burst":
				st.burstLost.Add(1)
			case "loss":
				st.lost.Add(1)
			case "down":
				st.downDropped.Add(1)
			case "impaired":
				st.impairedLost.Add(1)
			default:
				st.queueDropped.Add(1)
			}
			continue
		}
		select {
		case q <- packet{data: append([]byte(nil), buf[:n]...), depart: v.Depart}:
		default:
			st.queueDropped.Add(1)
		}
	}
	return nil
}

// release writes each queued packet to dst at its departure time, until
// q is closed or ctx ends. A packet the kernel refuses (the device is
// going down) is dropped, as a wire would drop it.
func release(ctx context.Context, q <-chan packet, dst *os.File) {
	t := time.NewTimer(0)
	defer t.Stop()
	for pk := range q {
		if d := time.Until(pk.depart); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
		if _, err := dst.Write(pk.data); errors.Is(err, os.ErrClosed) {
			return
		}
	}
}
