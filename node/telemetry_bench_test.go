package node_test

import (
	"flag"
	"syscall"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

var (
	benchFixedPeriod = flag.Bool("telemetry.fixed", false,
		"BenchmarkNeighborhoodTelemetry: report every period, as homes did before deadbands (no deadband, a heartbeat of one period, never thinned)")
	benchHomes = flag.Int("telemetry.homes", 25, "BenchmarkNeighborhoodTelemetry: homes in the neighborhood")
	benchFor   = flag.Duration("telemetry.for", 30*time.Second, "BenchmarkNeighborhoodTelemetry: how long to measure once every home follows a plan")
)

// BenchmarkNeighborhoodTelemetry runs one neighborhood (25 homes, five
// voters, the default 1 s periods) on an in-memory network until every
// home follows a plan, then measures for 30 s: telemetry reports
// published per home per second, and the process's CPU time (user and
// system, getrusage) per home per second of the run, which load from
// other processes does not inflate. -telemetry.fixed measures homes
// reporting every period instead. It runs the experiment once whatever
// b.N:
//
//	go test -run '^$' -bench NeighborhoodTelemetry -benchtime 1x ./node/
func BenchmarkNeighborhoodTelemetry(b *testing.B) {
	homes := startHomes(b, meshtest.NewMemNetwork(), *benchHomes, 5, func(_ int, c *node.Config, _ *node.Deps) {
		d := node.DefaultConfig()
		c.TelemetryPeriod, c.PlanPeriod, c.PlanLease, c.TelemetryMaxAge = d.TelemetryPeriod, d.PlanPeriod, d.PlanLease, d.TelemetryMaxAge
		if *benchFixedPeriod {
			c.Report = control.ReportConfig{Heartbeat: c.TelemetryPeriod, Period: c.TelemetryPeriod}
			c.Shedding = control.SheddingConfig{LoopLateMax: time.Hour, PublishMax: time.Hour, Calm: time.Second}
		}
	})
	for _, h := range homes {
		h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: gridmesh.W(300 * len(homes))})
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !everyHomePlanned(homes) {
		if time.Now().After(deadline) {
			b.Fatal("not every home follows a plan after 2 min")
		}
		time.Sleep(100 * time.Millisecond)
	}
	reasons := []string{"change", "heartbeat", "membership"}
	before := make([]uint64, len(reasons))
	for i, r := range reasons {
		before[i] = sumCounter(homes, "reports_due_"+r)
	}
	reports0, cpu0, t0 := sumCounter(homes, "reports_published"), cpuTime(b), time.Now()
	time.Sleep(*benchFor)
	reports, cpu, took := sumCounter(homes, "reports_published")-reports0, cpuTime(b)-cpu0, time.Since(t0)
	homeS := float64(len(homes)) * took.Seconds()
	b.ReportMetric(float64(reports)/homeS, "reports/home/s")
	for i, r := range reasons {
		b.ReportMetric(float64(sumCounter(homes, "reports_due_"+r)-before[i])/homeS, r+"/home/s")
	}
	b.ReportMetric(float64(cpu.Milliseconds())/homeS, "cpu-ms/home/s")
	b.ReportMetric(float64(sumCounter(homes, "telemetry_withheld")), "withheld")
	b.ReportMetric(float64(sumCounter(homes, "telemetry_shed")), "shed")
	if !everyHomePlanned(homes) {
		b.Error("a home lost its plan during the measurement")
	}
}

func everyHomePlanned(homes []*testHome) bool {
	for _, h := range homes {
		if st := h.n.Status(); st.Mode != control.ModePlan.String() {
			return false
		}
	}
	return true
}

func sumCounter(homes []*testHome, name string) uint64 {
	var sum uint64
	for _, h := range homes {
		sum += h.n.Status().Counters[name]
	}
	return sum
}

// cpuTime is the CPU time the process used so far, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
