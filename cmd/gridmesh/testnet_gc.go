package main

import (
	"math"
	"runtime/debug"
)

// The testnet's garbage collector. One process holds every home of the
// city, each allocating per message (gossip RPCs, Noise frames, Raft
// RPCs) while its live heap stays nearly flat (~1.6 MiB a home: 162 MB at 100 homes): with
// Go's default GOGC of 100, a 100-home city collects a few times a
// second and spends ~13 % of its CPU in malloc and marking (mallocgc
// 8-9 %, background marking and assists 4-5 %; docs/BENCHMARKS.md).
// Letting the heap grow to five times the live heap (GOGC 400)
// collects a quarter as often; a soft limit (GOMEMLIMIT) brings the
// collections back as the heap nears it, so a large city keeps the
// issue's memory bound (4 GB) rather than five times its live heap.
const (
	// testnetGCPercent: the heap grows to 5× the live heap between
	// collections.
	testnetGCPercent = 400
	// testnetMemoryLimitMiB: the soft limit, 3 GiB; past it the
	// collector works as hard as it must (GOGC no longer matters).
	// A 1,000-home city's live heap (~1.6 GB) stays below it.
	testnetMemoryLimitMiB = 3 << 10
)

// gcSettings returns the GC percent and the soft memory limit the
// testnet process runs with: gcPercent and limitMiB, unless the
// environment sets GOGC or GOMEMLIMIT (then -1 for either setting
// that the environment governs: leave the runtime's).
func gcSettings(getenv func(string) string, gcPercent, limitMiB int) (percent int, limitBytes int64) {
	percent, limitBytes = gcPercent, int64(limitMiB)<<20
	if getenv("GOGC") != "" {
		percent = -1
	}
	if getenv("GOMEMLIMIT") != "" {
		limitBytes = -1
	}
	return percent, limitBytes
}

// applyGC sets the GC as gcSettings says. A limit ≤ 0 is left alone;
// math.MaxInt64 turns it off.
func applyGC(percent int, limitBytes int64) {
	if percent > 0 {
		debug.SetGCPercent(percent)
	}
	if limitBytes > 0 && limitBytes < math.MaxInt64 {
		debug.SetMemoryLimit(limitBytes)
	}
}
