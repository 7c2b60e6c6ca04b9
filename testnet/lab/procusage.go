package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/<pid>/stat's CPU times: USER_HZ, 100 on
// Linux for every architecture (the kernel scales its own HZ to it).
const userHZ = 100

// procStat is what one read of a process's /proc files gives.
type procStat struct {
	cpuTicks uint64 // utime + stime, in 1/userHZ s
	rssKB    uint64 // VmRSS
	hwmKB    uint64 // VmHWM: the peak RSS
}

// parseStat reads utime and stime from /proc/<pid>/stat's text. The
// command name (field 2) may hold spaces and parentheses: fields are
// counted from the last ')'.
func parseStat(s string) (uint64, error) {
	k := strings.LastIndexByte(s, ')')
	if k < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(s[k+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name", len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return u + st, nil
}

// parseStatus reads VmRSS and VmHWM (kB) from /proc/<pid>/status's text.
func parseStatus(s string) (rss, hwm uint64, err error) {
	var seen int
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != "VmRSS" && key != "VmHWM" {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(val), " ")
		n, perr := strconv.ParseUint(num, 10, 64)
		if perr != nil || unit != "kB" {
			return 0, 0, fmt.Errorf("status %s: %q", key, val)
		}
		seen++
		if key == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	if seen != 2 {
		return 0, 0, errors.New("status: no VmRSS and VmHWM")
	}
	return rss, hwm, nil
}

// readProc reads a process's CPU time and memory from outside.
func readProc(pid int) (procStat, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStat{}, err
	}
	var p procStat
	if p.cpuTicks, err = parseStat(string(stat)); err != nil {
		return p, err
	}
	p.rssKB, p.hwmKB, err = parseStatus(string(status))
	return p, err
}

// ProcessUsage is one home's process as the lab measured it from /proc,
// from the neighborhoods' forming to the end (its last incarnation's).
type ProcessUsage struct {
	Home string `json:"home"`
	// Role: "leader" if it led at every sample, "member" if at none,
	// else "both".
	Role    string  `json:"role"`
	WindowS float64 `json:"window_s"`
	Samples int     `json:"samples"`
	// CPUPct: CPU time (user + system) over the window, in % of one core;
	// CPUPctLeader and CPUPctMember the same over the intervals between
	// samples that began with the home leading, and not (0 when there
	// were none); LeaderS the time it led.
	CPUPct       float64 `json:"cpu_pct"`
	CPUPctLeader float64 `json:"cpu_pct_leader"`
	CPUPctMember float64 `json:"cpu_pct_member"`
	LeaderS      float64 `json:"leader_s"`
	// RSSMeanMB, RSSMaxMB: resident memory over the samples; RSSPeakMB
	// the kernel's high-water mark (VmHWM) since the process started.
	RSSMeanMB float64 `json:"rss_mean_mb"`
	RSSMaxMB  float64 `json:"rss_max_mb"`
	RSSPeakMB float64 `json:"rss_peak_mb"`
}

// usageTrack accumulates one home's samples: a pure fold.
type usageTrack struct {
	pid                 int
	first, last         time.Time
	firstCPU, lastCPU   uint64
	rssSum, rssMax, hwm uint64
	samples, led        int
	leading             bool // at the last sample
	// CPU ticks and time over intervals that began leading, and not.
	leaderTicks, memberTicks uint64
	leaderTime, memberTime   time.Duration
}

// add folds a sample of pid at now; a new pid (a restart) starts over.
func (u *usageTrack) add(now time.Time, pid int, p procStat, leading bool) {
	if pid != u.pid || u.samples == 0 {
		*u = usageTrack{pid: pid, first: now, last: now, firstCPU: p.cpuTicks, lastCPU: p.cpuTicks}
	}
	dt, dc := now.Sub(u.last), p.cpuTicks-u.lastCPU
	if u.leading {
		u.leaderTime, u.leaderTicks = u.leaderTime+dt, u.leaderTicks+dc
	} else {
		u.memberTime, u.memberTicks = u.memberTime+dt, u.memberTicks+dc
	}
	u.leading = leading
	u.last, u.lastCPU = now, p.cpuTicks
	u.rssSum += p.rssKB
	u.rssMax = max(u.rssMax, p.rssKB)
	u.hwm = max(u.hwm, p.hwmKB)
	u.samples++
	if leading {
		u.led++
	}
}

// usage summarizes the samples for home.
func (u *usageTrack) usage(home string) ProcessUsage {
	r := ProcessUsage{Home: home, Samples: u.samples, Role: "both"}
	switch u.led {
	case 0:
		r.Role = "member"
	case u.samples:
		r.Role = "leader"
	}
	if u.samples == 0 {
		return r
	}
	w := u.last.Sub(u.first)
	r.WindowS = w.Seconds()
	pct := func(ticks uint64, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return 100 * float64(ticks) / userHZ / d.Seconds()
	}
	r.CPUPct = pct(u.lastCPU-u.firstCPU, w)
	r.CPUPctLeader, r.CPUPctMember = pct(u.leaderTicks, u.leaderTime), pct(u.memberTicks, u.memberTime)
	r.LeaderS = u.leaderTime.Seconds()
	r.RSSMeanMB = float64(u.rssSum) / float64(u.samples) / 1024
	r.RSSMaxMB, r.RSSPeakMB = float64(u.rssMax)/1024, float64(u.hwm)/1024
	return r
}

// sampleProcs reads every running home's /proc every SampleProcs from
// the neighborhoods' forming until ctx ends.
func (l *lab) sampleProcs(ctx context.Context) {
	if err := l.waitFor(ctx, l.cfg.FormTimeout, "formed, for sampling", l.formed); err != nil {
		return // the scenarios report it
	}
	t := time.NewTicker(l.cfg.SampleProcs)
	defer t.Stop()
	for {
		now := time.Now()
		for i, p := range l.procs {
			pid := p.pid()
			if pid == 0 || !p.running() {
				continue
			}
			ps, err := readProc(pid)
			if err != nil {
				continue // it exited meanwhile
			}
			l.mu.Lock()
			// As last seen: a poll lost to a busy machine does not
			// depose it.
			leading := l.tr.homes[i].answered && l.tr.homes[i].last.IsLeader
			l.usage[i].add(now, pid, ps, leading)
			l.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
