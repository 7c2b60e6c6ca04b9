package lab

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// lab is one run: its homes, their network and what it observed.
type lab struct {
	cfg    Config
	log    *slog.Logger
	start  time.Time
	names  []string // home i's name
	nbName []string
	nbOf   []int
	addrs  []string // home i's address as the router sees it (its NAT's, behind NAT)
	nat    []bool   // home i sits behind its own NAT
	procs  []*proc
	net    *network
	poll   *poller
	plans  *planGatherer // the homes' plan logs (planlog.go)

	mu     sync.Mutex // guards tr, errs, usage, seen and seenAt
	tr     *tracker
	errs   []string
	usage  []usageTrack  // per home, when sampling (procusage.go)
	polled chan struct{} // closed and replaced after each poll
	// seen is the newest poll, begun at seenAt (zero: none yet): the
	// city's page (dashboard.go).
	seen   []sample
	seenAt time.Time
}

// Run runs a lab and returns its report. It fails at once, naming what
// is missing, when the machine cannot run one (ErrUnavailable). Whatever
// it created is gone when it returns, however it returns (ctx's end
// included). A report is returned whenever the homes ran, with what went
// wrong in its Errors.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Dashboard != nil {
		defer cfg.Dashboard.Close() // once served, already closed: the error says so
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := preflight(); err != nil {
		return nil, err
	}
	if cfg.RunID == "" {
		b := make([]byte, 3)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		cfg.RunID = hex.EncodeToString(b)
	}
	l := &lab{cfg: cfg, log: cfg.Logger, polled: make(chan struct{})}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("component", "lab", "run", cfg.RunID)
	return l.run(ctx)
}

func (l *lab) run(ctx context.Context) (rep *Report, err error) {
	cleanup := context.WithoutCancel(ctx)
	if err := l.writeHomes(ctx); err != nil {
		return nil, err
	}
	prof := Profiles[l.cfg.Link]
	if l.net, err = buildNetwork(ctx, l.cfg.RunID, l.addrs, l.nat, prof, l.cfg.Seed); err != nil {
		return nil, fmt.Errorf("lab network: %w", err)
	}
	defer func() {
		if cerr := l.net.close(cleanup); cerr != nil {
			err = errors.Join(err, fmt.Errorf("lab teardown: %w", cerr))
		}
	}()
	l.poll = newPoller(l.net)
	defer l.poll.close()
	defer l.stopHomes()
	if l.cfg.Dashboard != nil {
		stopPage, err := l.serveDashboard(ctx, l.cfg.Dashboard)
		if err != nil {
			return nil, err
		}
		defer stopPage()
	}
	l.start = time.Now()
	l.tr = newTracker(l.start, l.nbOf, l.cfg.Neighborhoods)
	l.plans = &planGatherer{poll: l.poll, addrs: l.addrs, boot: make([]string, len(l.addrs)), hist: newPlanHistory(l.nbOf, l.cfg.Neighborhoods)}
	for _, p := range l.procs {
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	l.log.Info("homes started", "homes", len(l.procs), "link", l.cfg.Link, "dir", l.cfg.Dir)
	octx, stopObservers := context.WithCancel(ctx)
	waitObservers := l.startObservers(octx)
	defer func() { stopObservers(); waitObservers() }()

	l.scenarios(ctx)
	if err := sleep(ctx, time.Until(l.start.Add(l.cfg.Duration))); err != nil {
		return nil, fmt.Errorf("lab interrupted: %w", err)
	}
	stopObservers()
	waitObservers()
	l.plans.gatherAll(ctx) // what the homes logged since the last round
	live := make([]bool, len(l.procs))
	for i, p := range l.procs {
		live[i] = p.running()
	}
	l.stopHomes()
	return l.report(live), nil
}

// startObservers starts the lab's observers until ctx ends: status
// polls, plan log reads and, when asked, /proc samples. The function
// returned waits for them to end.
func (l *lab) startObservers(ctx context.Context) (wait func()) {
	l.usage = make([]usageTrack, len(l.procs))
	var wg sync.WaitGroup
	wg.Go(func() { l.pollLoop(ctx) })
	wg.Go(func() { l.planLoop(ctx) })
	if l.cfg.SampleProcs > 0 {
		wg.Go(func() { l.sampleProcs(ctx) })
	}
	return wg.Wait
}

// writeHomes writes every home's file, creates its identity key and
// rewrites the file with its bootstrap peers (whose IDs it now knows).
func (l *lab) writeHomes(ctx context.Context) error {
	k := l.cfg.Neighborhoods
	for nb := range k {
		l.nbName = append(l.nbName, fmt.Sprintf("n%d", nb))
	}
	per := make([]int, k)
	var specs []homeSpec
	for i := range l.cfg.Homes {
		l.nbOf = append(l.nbOf, i%k)
	}
	var err error
	if l.nat, err = pickNAT(l.nbOf, k, l.cfg.NATHomes); err != nil {
		return err
	}
	for i, nb := range l.nbOf {
		name := fmt.Sprintf("h%02d", i)
		l.names = append(l.names, name)
		l.addrs = append(l.addrs, homeAddr(nb, per[nb]))
		per[nb]++
		own := l.addrs[i]
		if l.nat[i] {
			own = natLANHome
		}
		timing := "wan"
		if l.cfg.Link == "lan" {
			timing = "lan"
		}
		specs = append(specs, homeSpec{
			Home: name, Neighborhood: l.nbName[nb], Network: "lab-" + l.cfg.RunID, Addr: own,
			DataDir: filepath.Join(l.cfg.Dir, name), Timing: timing, TargetW: 200, Seed: l.cfg.Seed*1000 + uint64(i),
		})
	}
	peers := make([]string, len(specs))
	for i, s := range specs {
		p := &proc{bin: l.cfg.Binary, ns: nsName(l.cfg.RunID, fmt.Sprintf("h%d", i)), file: filepath.Join(l.cfg.Dir, s.Home+".yaml"), logPath: filepath.Join(l.cfg.Dir, s.Home+".log")}
		l.procs = append(l.procs, p)
		if err := os.WriteFile(p.file, []byte(homeFile(s)), 0o644); err != nil {
			return fmt.Errorf("home file: %w", err)
		}
		id, err := peerID(ctx, l.cfg.Binary, p.file)
		if err != nil {
			return err
		}
		peers[i] = id
	}
	for i := range specs {
		for _, j := range bootstrapFor(i, l.nbOf, k, l.nat) {
			specs[i].Bootstrap = append(specs[i].Bootstrap, fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", l.addrs[j], p2pPort, peers[j]))
		}
		if err := os.WriteFile(l.procs[i].file, []byte(homeFile(specs[i])), 0o644); err != nil {
			return fmt.Errorf("home file: %w", err)
		}
	}
	return nil
}

// bootstrapFor lists the homes home i dials first, as an installer would
// give it a few (the in-process testnet does the same): the first home
// of its neighborhood, the one before it there, and the first home of
// the previous neighborhood, so that the region is one mesh. Homes
// behind NAT (nat[j]) are nobody's: nobody can dial them. A home's
// bootstrap peers are also its relays, should it sit behind NAT.
func bootstrapFor(i int, nbOf []int, k int, nat []bool) []int {
	var before []int // public homes of i's neighborhood before it
	for j := range i {
		if nbOf[j] == nbOf[i] && !nat[j] {
			before = append(before, j)
		}
	}
	var out []int
	if len(before) > 0 {
		out = append(out, before[0])
	}
	if len(before) > 1 {
		out = append(out, before[len(before)-1])
	}
	if k > 1 {
		prev := (nbOf[i] + k - 1) % k
		for j, nb := range nbOf {
			if nb == prev && !nat[j] {
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// pollLoop reads every home's status every PollInterval until ctx ends.
func (l *lab) pollLoop(ctx context.Context) {
	t := time.NewTicker(l.cfg.PollInterval)
	defer t.Stop()
	for {
		began := time.Now()
		ss := l.pollAll(ctx)
		now := time.Now()
		l.mu.Lock()
		if ctx.Err() == nil {
			l.tr.observe(now, ss)
			l.seen, l.seenAt = ss, began
		}
		close(l.polled)
		l.polled = make(chan struct{})
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollAll reads every home's status at once.
func (l *lab) pollAll(ctx context.Context) []sample {
	ss := make([]sample, len(l.addrs))
	var wg sync.WaitGroup
	for i := range l.addrs {
		wg.Go(func() {
			st, err := l.poll.get(ctx, i)
			ss[i] = sample{ok: err == nil, st: st}
		})
	}
	wg.Wait()
	return ss
}

// waitFor returns nil once cond holds after a poll, or an error at
// timeout or ctx's end.
func (l *lab) waitFor(ctx context.Context, timeout time.Duration, what string, cond func(*tracker) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		l.mu.Lock()
		ok, ch := cond(l.tr), l.polled
		l.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: not within %v", what, timeout)
		}
	}
}

// fail records what went wrong for the report.
func (l *lab) fail(err error) {
	l.log.Warn("lab", "err", err)
	l.mu.Lock()
	l.errs = append(l.errs, err.Error())
	l.mu.Unlock()
}

// stopHomes ends every home: SIGTERM, SIGKILL after a grace period.
func (l *lab) stopHomes() {
	var wg sync.WaitGroup
	for _, p := range l.procs {
		wg.Go(func() {
			if err := p.stop(); err != nil {
				l.fail(err)
			}
		})
	}
	wg.Wait()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// countLogErrors counts ERROR lines and panics in a home's log.
func countLogErrors(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "level=ERROR") || strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
			n++
		}
	}
	return n
}

// report assembles the run's report; live[i] says whether home i's
// process ran at the end. Call after the homes have stopped.
func (l *lab) report(live []bool) *Report {
	prof := Profiles[l.cfg.Link]
	r := &Report{
		RunID: l.cfg.RunID, Homes: l.cfg.Homes, Neighborhoods: l.cfg.Neighborhoods,
		DurationS: time.Since(l.start).Seconds(), Scenario: l.cfg.Scenarios, Link: l.cfg.Link,
		LinkSpec: LinkReport{
			DelayMinMs: float64(prof.DelayMin.Microseconds()) / 1000, DelayMaxMs: float64(prof.DelayMax.Microseconds()) / 1000,
			LossPct: prof.LossPct, BurstLoss: prof.Burst != nil, RateMbitPerS: float64(prof.RateBitPerS) / 1e6,
		},
	}
	for _, h := range l.net.homes {
		r.Packets.Up += h.up.packets.Load()
		r.Packets.Down += h.down.packets.Load()
		r.Packets.Lost += h.up.lost.Load() + h.down.lost.Load()
		r.Packets.BurstLost += h.up.burstLost.Load() + h.down.burstLost.Load()
		r.Packets.QueueDropped += h.up.queueDropped.Load() + h.down.queueDropped.Load()
		r.Packets.LinkDownDropped += h.up.downDropped.Load() + h.down.downDropped.Load()
		r.Packets.ImpairedLost += h.up.impairedLost.Load() + h.down.impairedLost.Load()
	}
	l.mu.Lock()
	l.tr.report(r, l.names, l.nbName, live)
	l.tr.natReport(r, l.names, l.nbName, l.nat, live)
	r.Errors = append([]string{}, l.errs...)
	l.reportChecks(r)
	if r.Faults == nil {
		r.Faults = []Fault{}
	}
	l.mu.Unlock()
	for i, p := range l.procs {
		exits, runs := p.history()
		r.Processes.Started += runs
		if live[i] {
			r.Processes.RunningAtEnd++
		}
		for _, e := range exits {
			if e.Expected {
				r.Processes.KilledByLab++
				continue
			}
			r.Processes.Unexpected++
			r.Errors = append(r.Errors, fmt.Sprintf("home %s exited unexpectedly: %s (log %s)", l.names[i], e.Status, p.logPath))
		}
		r.Processes.LogErrors += countLogErrors(p.logPath)
	}
	return r
}

// reportChecks adds the plan history's check, the failovers' summary
// and the processes' usage to r. Call with l.mu held.
func (l *lab) reportChecks(r *Report) {
	l.plans.mu.Lock()
	r.Linearizability = l.plans.hist.check(l.nbName)
	l.plans.mu.Unlock()
	r.Linearizable, r.LinearizabilityOps = r.Linearizability.Result == "ok", r.Linearizability.Operations
	if r.Linearizability.Result == "illegal" {
		r.Errors = append(r.Errors, fmt.Sprintf("plan history not linearizable in %v (%d applied before published)", r.Linearizability.Illegal, r.Linearizability.AppliedBeforePublished))
	}
	r.Failover = summarize(r.FailoverMs)
	if l.cfg.SampleProcs > 0 {
		for i := range l.usage {
			r.ProcessUsage = append(r.ProcessUsage, l.usage[i].usage(l.names[i]))
		}
	}
}
