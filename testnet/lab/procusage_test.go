package lab

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want uint64
		ok   bool
	}{
		{"a node", "4242 (gridmesh) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 12 0 3456 1000000 5000 18446744073709551615", 1234 + 567, true},
		{"a name with spaces and parens", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 1", 30, true},
		{"cut short", "7 (x) S 1 2 3", 0, false},
		{"no name", "7 x S 1 2 3 4 5 6 7 8 9 10 11 12 13", 0, false},
		{"not a number", "7 (x) S 1 7 7 0 -1 0 0 0 0 0 ten 20 0", 0, false},
	}
	for _, tc := range tests {
		got, err := parseStat(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: %d, %v; want %d, ok %v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseStatus(t *testing.T) {
	const real = "Name:\tgridmesh\nVmPeak:\t 1300000 kB\nVmHWM:\t   31000 kB\nVmRSS:\t   29500 kB\nThreads:\t12\n"
	if rss, hwm, err := parseStatus(real); err != nil || rss != 29500 || hwm != 31000 {
		t.Errorf("status: %d, %d, %v; want 29500, 31000", rss, hwm, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t 12 MB\nVmHWM:\t 1 kB\n", "VmRSS:\t x kB\nVmHWM:\t 1 kB\n", "VmRSS:\t 12 kB\n"} {
		if _, _, err := parseStatus(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("4242 (gridmesh) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 12 0 3456")
	f.Add("VmRSS:\t 12 kB\nVmHWM:\t 13 kB\n")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseStat(s); err == nil && !strings.Contains(s, ")") {
			t.Fatalf("%q: read without a command name", s)
		}
		if _, _, err := parseStatus(s); err == nil && (!strings.Contains(s, "VmRSS:") || !strings.Contains(s, "VmHWM:")) {
			t.Fatalf("%q: read without VmRSS and VmHWM", s)
		}
	})
}

// A home's usage: CPU over the window in % of one core, memory mean and
// max, its role; a restart starts the window over.
func TestUsageTrack(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var u usageTrack
	u.add(t0, 10, procStat{cpuTicks: 500, rssKB: 20480, hwmKB: 30720}, true)
	u.add(t0.Add(50*time.Second), 10, procStat{cpuTicks: 525, rssKB: 30720, hwmKB: 30720}, true)
	u.add(t0.Add(100*time.Second), 10, procStat{cpuTicks: 550, rssKB: 25600, hwmKB: 30720}, true)
	got := u.usage("h00")
	// 50 ticks = 0.5 s of CPU in 100 s: 0.5 % of a core.
	if got.Role != "leader" || got.Samples != 3 || got.WindowS != 100 || math.Abs(got.CPUPct-0.5) > 1e-9 || math.Abs(got.CPUPctLeader-0.5) > 1e-9 || got.CPUPctMember != 0 ||
		got.RSSMaxMB != 30 || got.RSSMeanMB != 25 || got.RSSPeakMB != 30 {
		t.Errorf("usage %+v", got)
	}
	u.add(t0.Add(200*time.Second), 11, procStat{cpuTicks: 3, rssKB: 10240, hwmKB: 10240}, false)
	u.add(t0.Add(210*time.Second), 11, procStat{cpuTicks: 13, rssKB: 10240, hwmKB: 10240}, true)
	if got := u.usage("h00"); got.Role != "both" || got.Samples != 2 || got.WindowS != 10 || math.Abs(got.CPUPct-1) > 1e-9 || got.RSSMaxMB != 10 {
		t.Errorf("after a restart: %+v", got)
	}
	// It leads from 210 s: 20 ticks in the next 10 s (2 %), then 5 in
	// 10 s as a member again (0.5 %) after 10 s as member before (1 %).
	u.add(t0.Add(220*time.Second), 11, procStat{cpuTicks: 33, rssKB: 10240, hwmKB: 10240}, false)
	u.add(t0.Add(230*time.Second), 11, procStat{cpuTicks: 38, rssKB: 10240, hwmKB: 10240}, false)
	got = u.usage("h00")
	if math.Abs(got.CPUPctLeader-2) > 1e-9 || math.Abs(got.CPUPctMember-0.75) > 1e-9 || got.LeaderS != 10 {
		t.Errorf("by role: %+v; want leader 2 %% over 10 s, member 0.75 %%", got)
	}
}

func TestRuns(t *testing.T) {
	if got := runs([]string{"kill", "stop", "flap"}, 3); !slices.Equal(got, []string{"kill", "kill", "kill", "stop", "flap"}) {
		t.Errorf("runs: %v", got)
	}
	if got := runs([]string{"stop"}, 50); !slices.Equal(got, []string{"stop"}) {
		t.Errorf("runs without kill: %v", got)
	}
}

func TestSummarize(t *testing.T) {
	var ms []float64
	for i := 100; i >= 1; i-- { // 1..100 ms, unordered
		ms = append(ms, float64(i))
	}
	ms = append(ms, -1, -1)
	s := summarize(ms)
	if s.Samples != 100 || s.Missed != 2 || s.P50Ms != 50 || s.P99Ms != 99 || s.MaxMs != 100 {
		t.Errorf("summary %+v", s)
	}
	if s := summarize([]float64{700}); s.P50Ms != 700 || s.P99Ms != 700 || s.MaxMs != 700 {
		t.Errorf("one sample: %+v", s)
	}
	if s := summarize([]float64{-1}); s.Samples != 0 || s.Missed != 1 || s.MaxMs != 0 {
		t.Errorf("none seen: %+v", s)
	}
	// 50 samples: p99 is the largest, as nearest rank says.
	if s := summarize(ms[50:100]); s.P99Ms != 50 || s.P50Ms != 25 {
		t.Errorf("50 samples: %+v", s)
	}
}
