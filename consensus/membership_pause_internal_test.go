package consensus

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A pause ends when its time is up, not before, and only once.
func TestMembershipPauseEndsWhenTimeIsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p pauseTimer
		var released atomic.Int32
		p.start(time.Hour, func() { released.Add(1) })
		time.Sleep(time.Hour - time.Nanosecond)
		synctest.Wait()
		if n := released.Load(); n != 0 {
			t.Fatalf("released %d times before its hour", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := released.Load(); n != 1 {
			t.Fatalf("released %d times after its hour, want once", n)
		}
		p.stop() // nothing pending: nothing happens
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if n := released.Load(); n != 1 {
			t.Fatalf("released %d times, want once", n)
		}
	})
}

// Close stops a pending pause's timer: it never fires afterwards, and a
// pause asked for after Close starts none.
func TestMembershipPauseTimerNeverFiresAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p pauseTimer
		var released atomic.Int32
		p.start(time.Hour, func() { released.Add(1) })
		time.Sleep(time.Minute)
		p.stop()
		p.start(time.Minute, func() { released.Add(1) })
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if n := released.Load(); n != 0 {
			t.Fatalf("released %d times after stop", n)
		}
	})
}

// A pause begun while another is pending (the one a Reset's replaced
// layer held) drops the older one: only the newer fires, at its time.
func TestMembershipPauseReplacesAPendingPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p pauseTimer
		var old, cur atomic.Int32
		p.start(time.Minute, func() { old.Add(1) })
		p.start(time.Hour, func() { cur.Add(1) })
		time.Sleep(time.Hour)
		synctest.Wait()
		if old.Load() != 0 || cur.Load() != 1 {
			t.Fatalf("older released %d times, newer %d; want 0 and 1", old.Load(), cur.Load())
		}
	})
}
