package testnet

import (
	"testing"
	"time"
)

// The cost meter reads the process's own CPU and memory: work done
// between its readings shows in the report, and the peak resident
// memory covers what the process holds.
func TestCostMeterCountsTheProcesssWork(t *testing.T) {
	m := newCostMeter()
	m.began(time.Now())
	before := processCost()
	held := make([]byte, 64<<20)
	for i := range held {
		held[i] = byte(i)
	}
	for processCost().cpu-before.cpu < 50*time.Millisecond {
		for i := range 1 << 16 {
			costSink += uint64(i * i)
		}
	}
	m.ended(time.Now())
	var rep Report
	m.report(&rep)
	if rep.CPUS < 0.05 {
		t.Errorf("cpu_s %.3f after 50 ms of work", rep.CPUS)
	}
	if rep.CPUCorePct <= 0 {
		t.Errorf("cpu_core_pct %.3f after work", rep.CPUCorePct)
	}
	if rep.MaxRSSMB < 64 {
		t.Errorf("max_rss_mb %.1f while holding 64 MiB", rep.MaxRSSMB)
	}
	t.Log(held[len(held)-1]) // held to the end
}

// costSink keeps the test's busy loop from being optimized away.
var costSink uint64
