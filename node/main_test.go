package node_test

import (
	"runtime"
	"testing"
)

// TestMain runs the package's tests, under the race detector on one P.
//
// Why: Go's race runtime (go1.26) corrupts its own state when two
// goroutines of one synctest bubble run bubbled timers at the same
// instant on two Ps. Every bubble has a single race context for its
// timers (the runtime's bubble.timers.raceCtx), which timer.unlockAndRun
// lends to whichever thread runs a timer: the bubble's timer loop, a
// goroutine setting a timer that is already due (time.NewTimer(0),
// AfterFunc(0), Reset(0)) or receiving from a due timer's channel. Two
// threads then drive one ThreadSanitizer thread state at once, and the
// binary dies in the race runtime, sometimes minutes later in an
// unrelated goroutine: "unexpected fault address" in
// __tsan::TraceSwitchPartImpl (its trace-part recycle list corrupted),
// SIGSEGV in __tsan::SlotLock, or "ThreadSanitizer: CHECK failed:
// tsan_rtl.cpp:346". libp2p, gossipsub and raft set such timers
// constantly, so the homes' bubbles hit it: 2 of 3 runs of
// `go test -race -count=20 -run 'PartitionedClustersMerge|ColdStart'`
// died this way. It is not our code (nothing here uses unsafe; a
// 40-line test of bare timers in one bubble, no other package, crashes
// 12 of 12 runs at GOMAXPROCS=2, 0 of 22 at GOMAXPROCS=1, 0 of 18 with
// the runtime patched to give each P its own timer race context, 0 of 6
// without -race), nor the detector's capacity (the crashed binary held
// 143 goroutines, one bubble), so running fewer bubbles at once does
// not help: one bubble is enough. The Go issue tracker has it as
// "testing/synctest: ThreadSanitizer: CHECK failed".
//
// With one P, only one thread runs Go code, timers included, so the
// race context is never shared. The detector loses nothing: it reports
// accesses unordered by happens-before, whether or not they ran at the
// same instant, and the scheduler still preempts and interleaves the
// goroutines. Drop this once the toolchain's race runtime is fixed
// (-test.cpu=2 under -race brings the crash back, to check).
func TestMain(m *testing.M) {
	if raceEnabled {
		runtime.GOMAXPROCS(1)
	}
	m.Run()
}
