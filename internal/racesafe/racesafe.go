// Package racesafe runs a package's tests on one P when they are built
// with the race detector, so that tests in testing/synctest bubbles do
// not crash the race runtime. A package whose tests use synctest calls
// Main from its TestMain:
//
//	func TestMain(m *testing.M) { racesafe.Main(m) }
//
// Why: Go's race runtime (go1.26) corrupts its own state when two
// threads run timers of one synctest bubble at the same instant. A
// bubble has a single race context for its timers (the runtime's
// bubble.timers.raceCtx), which timer.unlockAndRun lends to whichever
// thread runs a timer: the bubble's timer loop, a goroutine setting a
// timer that is already due (time.NewTimer(0), AfterFunc(0), Reset(0)),
// or one receiving from a due timer's channel. Two threads then drive
// one ThreadSanitizer thread state, and the binary dies in the race
// runtime, often later and in an unrelated goroutine: "unexpected fault
// address" in __tsan::TraceSwitchPartImpl (its recycle list of trace
// parts corrupted), SIGSEGV in __tsan::SlotLock, or "ThreadSanitizer:
// CHECK failed: tsan_rtl.cpp:346". libp2p, gossipsub and raft set such
// timers constantly, so the homes' bubbles hit it: 3 of 5 runs of
// `go test -race -count=20 -run 'PartitionedClustersMerge|ColdStart'`
// on two Ps died so, none of 2 on one P.
//
// It is neither our code (nothing here uses unsafe) nor the detector's
// capacity (the dead binaries held 143 and 332 goroutines, in one
// bubble), so running fewer bubbles at once would not help. A test of
// nothing but 64 goroutines setting due timers in one bubble, no other
// package, dies in 12 of 12 runs on two Ps; it passes 20 of 20 on one
// P, 18 of 18 with the runtime patched to use each P's own timer race
// context, 6 of 6 without -race; sleeping goroutines alone (timers run
// only by the bubble's loop) pass 4 of 4. The Go issue tracker has it as
// "testing/synctest: ThreadSanitizer: CHECK failed".
//
// With one P, one thread at a time runs Go code, timers included, so
// the context is never shared. The detector loses nothing: it reports
// accesses unordered by happens-before whether or not they ran at the
// same instant, and the scheduler still preempts and interleaves the
// goroutines; the suite took 33 s against 35 s on two Ps. Drop this
// once the toolchain's race runtime is fixed (-cpu 2 under -race brings
// the crash back, to check).
package racesafe

import (
	"os"
	"runtime"
	"testing"
)

// Main runs m's tests, on one P when the binary is built with -race, and
// exits with their status.
func Main(m *testing.M) {
	if raceEnabled {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(m.Run())
}
