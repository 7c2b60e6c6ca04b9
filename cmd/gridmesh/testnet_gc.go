package main

import (
	"runtime/debug"
)

// The testnet's garbage collector. One process holds every home of the
// city, each allocating per message (gossip RPCs, Noise frames, Raft
// RPCs) while its live heap stays nearly flat (~1.6 MiB a home: 162 MB
// at 100 homes). GOGC stays at the runtime's 100: GOGC 400 cut the
// 100-home city's GC share of the CPU profile from 14.5 % to 10 % and
// its CPU by ~6 %, but doubled its RSS and, in runs minutes apart, its
// failovers and signal-to-setpoint latencies were slower (0.84-1.52 s
// and p99 449 ms against 0.50-0.74 s and 72 ms; docs/BENCHMARKS.md):
// the city's latencies come first. A soft memory limit (GOMEMLIMIT)
// keeps a large city's heap within the 4 GB a 1,000-home city may use:
// at 1,000 homes the live heap (~1.6 GB) would let GOGC 100 grow the
// heap to ~3.2 GB before collecting.
const (
	// testnetGCPercent: the runtime's default (see above).
	testnetGCPercent = 100
	// testnetMemoryLimitMiB: the soft limit, 3 GiB; past it the
	// collector works as hard as it must (GOGC no longer matters).
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

// applyGC sets the GC as gcSettings says. A percent or limit ≤ 0 is left
// alone.
func applyGC(percent int, limitBytes int64) {
	if percent > 0 {
		debug.SetGCPercent(percent)
	}
	if limitBytes > 0 {
		debug.SetMemoryLimit(limitBytes)
	}
}
