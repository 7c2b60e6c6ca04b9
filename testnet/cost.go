package testnet

import (
	"math"
	"runtime"
	"syscall"
	"time"
)

// cost is what the process has spent so far: CPU time (user and system,
// every goroutine and the runtime's own) and its peak resident memory,
// from getrusage(2). A city runs in one process, so the process's cost is
// the city's; CPU seconds are robust to other load on the machine, where
// wall-clock figures are not.
type cost struct {
	cpu      time.Duration
	maxRSSMB float64
}

// processCost reads the process's cost now; zero where getrusage fails.
func processCost() cost {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cost{}
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// ru_maxrss is in KiB on Linux, in bytes on macOS.
	rss := float64(ru.Maxrss) / 1024
	if runtime.GOOS == "darwin" {
		rss /= 1024
	}
	return cost{cpu: cpu, maxRSSMB: rss}
}

// costMeter follows the process's CPU over a run: from Run's start (so
// the city's start-up and stop count), over the scenarios, and between
// two live summaries. Owned by the run's goroutine.
type costMeter struct {
	start   cost      // at Run's start
	t0      cost      // when the scenarios began
	t0At    time.Time // wall clock then
	corePct float64   // % of one core over the scenarios, once they ended
	last    cost      // at the last tick
	lastAt  time.Time
}

func newCostMeter() *costMeter { return &costMeter{start: processCost()} }

// began marks the start of the scenarios.
func (m *costMeter) began(now time.Time) {
	m.t0, m.t0At = processCost(), now
	m.last, m.lastAt = m.t0, now
}

// ended marks the end of the scenarios.
func (m *costMeter) ended(now time.Time) {
	if d := now.Sub(m.t0At); !m.t0At.IsZero() && d > 0 {
		m.corePct = 100 * float64(processCost().cpu-m.t0.cpu) / float64(d)
	}
}

// tick reads the process's cost at now and returns the share of one core
// it used since the last tick, in percent (0 on the first).
func (m *costMeter) tick(now time.Time) float64 {
	c := processCost()
	var pct float64
	if dt := now.Sub(m.lastAt); !m.lastAt.IsZero() && dt > 0 {
		pct = 100 * float64(c.cpu-m.last.cpu) / float64(dt)
	}
	m.last, m.lastAt = c, now
	return pct
}

// report fills in the report's cost figures, read once the city stopped.
func (m *costMeter) report(rep *Report) {
	c := processCost()
	rep.CPUS = round3((c.cpu - m.start.cpu).Seconds())
	rep.CPUCorePct = round3(m.corePct)
	rep.MaxRSSMB = round3(c.maxRSSMB)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
