package lab

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// settleTimeout bounds waits for a neighborhood to settle: a leader, and
// every live home on its plans. A WAN election takes 1-3 s; a restarted
// home reconnects with backoff.
const settleTimeout = 45 * time.Second

// scenarios waits for the neighborhoods to form, then runs each fault in
// turn on a neighborhood of its own (kill on the first, stop on the
// second, partition on the third, wrapping around). What goes wrong is
// recorded for the report.
func (l *lab) scenarios(ctx context.Context) {
	if err := l.waitFor(ctx, l.cfg.FormTimeout, "every neighborhood formed and every home on a plan", l.formed); err != nil {
		l.fail(err)
		return
	}
	l.log.Info("formed", "after", time.Since(l.start).Round(time.Millisecond))
	for k, s := range runs(l.cfg.Scenarios, l.cfg.Kills) {
		nb := k % l.cfg.Neighborhoods
		if err := l.waitFor(ctx, settleTimeout, fmt.Sprintf("neighborhood %s settled before %s", l.nbName[nb], s), func(t *tracker) bool { return l.settled(t, nb) }); err != nil {
			l.fail(err)
			continue
		}
		var err error
		switch s {
		case "kill":
			err = l.kill(ctx, nb)
		case "stop":
			err = l.stop(ctx, nb)
		case "partition":
			err = l.partition(ctx, nb)
		case "isolate":
			err = l.isolate(ctx, nb)
		case "flap":
			err = l.flap(ctx, nb)
		case "loss":
			err = l.loss(ctx)
		case "restart-all":
			err = l.restartAll(ctx)
		}
		if err != nil {
			l.fail(fmt.Errorf("%s: %w", s, err))
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// formed: every neighborhood has a leader and every home holds a plan.
func (l *lab) formed(t *tracker) bool {
	for nb := range l.cfg.Neighborhoods {
		if !l.settled(t, nb) {
			return false
		}
	}
	return true
}

// settled: neighborhood nb's leader answers as leader, names its cluster,
// and every home of it whose process runs holds a valid plan of the
// leader's term. Until the first leader names the cluster the
// neighborhood is still forming: a founder killed then restarts holding
// the state of a cluster with no name, and a voter of it, which the
// formation rules neither wipe nor add back.
func (l *lab) settled(t *tracker, nb int) bool {
	lead, term := t.leaderOf(nb)
	if lead < 0 || !t.homes[lead].answered || !t.homes[lead].last.IsLeader || t.homes[lead].last.Cluster == "" {
		return false
	}
	for i, h := range t.homes {
		if t.nbOf[i] != nb || !l.procs[i].running() {
			continue
		}
		if !h.answered || !h.last.HasPlan || h.last.PlanEpoch.Term != term {
			return false
		}
	}
	return true
}

// leader returns neighborhood nb's leader.
func (l *lab) leader(nb int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := l.tr.leaderOf(nb)
	return i
}

// record tells the tracker about a fault.
func (l *lab) record(kind string, nb int, victims []int) *faultTrack {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Info(kind, "home", l.names[victims[0]], "neighborhood", l.nbName[nb])
	return l.tr.fault(time.Now(), kind, l.names, nb, victims)
}

// failedOver waits for f's failover.
func (l *lab) failedOver(ctx context.Context, f *faultTrack, timeout time.Duration) error {
	return l.waitFor(ctx, timeout, "failover after "+f.Kind+" of "+f.Home, func(*tracker) bool { return f.done })
}

// kill SIGKILLs nb's leader, waits for the others to fail over, and
// restarts it from its data directory KillDowntime after the kill.
func (l *lab) kill(ctx context.Context, nb int) error {
	v := l.leader(nb)
	p := l.procs[v]
	// Its plan log is read first: what it logs between this read and
	// the kill is lost with it.
	_ = l.plans.gather(ctx, v) // unanswered: read nothing more
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	killed := time.Now()
	f := l.record("kill", nb, []int{v})
	if err := p.wait(ctx); err != nil {
		return err
	}
	ferr := l.failedOver(ctx, f, settleTimeout)
	if err := sleep(ctx, time.Until(killed.Add(l.cfg.KillDowntime))); err != nil {
		return err
	}
	l.mu.Lock()
	l.tr.restarted(v)
	l.mu.Unlock()
	if err := p.start(); err != nil {
		return err
	}
	l.log.Info("restarted", "home", l.names[v])
	if ferr != nil {
		return ferr
	}
	return l.back(ctx, f, time.Now(), "restarted "+l.names[v]+" back on its neighborhood's plans", func(t *tracker) bool { return l.settled(t, nb) && t.homes[v].answered })
}

// stop SIGSTOPs nb's leader for StopHold, longer than an election, then
// lets it run again: it wakes up deposed and must not steer anyone.
func (l *lab) stop(ctx context.Context, nb int) error {
	v := l.leader(nb)
	p := l.procs[v]
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	f := l.record("stop", nb, []int{v})
	serr := sleep(ctx, l.cfg.StopHold)
	if err := p.signal(syscall.SIGCONT); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	cont := time.Now()
	if err := l.failedOver(ctx, f, settleTimeout); err != nil {
		return err
	}
	return l.back(ctx, f, cont, "stopped "+l.names[v]+" back on its neighborhood's plans", func(t *tracker) bool { return l.settled(t, nb) && t.homes[v].answered })
}

// partition cuts nb's leader and as many other homes as stay a minority
// off every other home for PartitionHold, then heals.
func (l *lab) partition(ctx context.Context, nb int) error {
	v := l.leader(nb)
	minority := []int{v}
	var size int
	for i := range l.nbOf {
		if l.nbOf[i] == nb {
			size++
		}
	}
	for _, i := range l.nonVotersFirst(nb, v) {
		if len(minority) >= (size-1)/2 {
			break
		}
		minority = append(minority, i)
	}
	addrs := make([]string, len(minority))
	for k, i := range minority {
		addrs[k] = l.addrs[i]
	}
	if err := l.net.cut(ctx, addrs); err != nil {
		return err
	}
	f := l.record("partition", nb, minority)
	ferr := l.failedOver(ctx, f, l.cfg.PartitionHold)
	serr := sleep(ctx, time.Until(f.at.Add(l.cfg.PartitionHold)))
	if err := l.net.cut(context.WithoutCancel(ctx), nil); err != nil {
		return err
	}
	healed := time.Now()
	l.mu.Lock()
	l.tr.healed()
	l.mu.Unlock()
	l.log.Info("healed", "neighborhood", l.nbName[nb])
	if serr != nil {
		return serr
	}
	if ferr != nil {
		return ferr
	}
	return l.back(ctx, f, healed, "neighborhood "+l.nbName[nb]+" whole again after the partition", func(t *tracker) bool { return l.settled(t, nb) })
}

// nonVotersFirst lists nb's homes but except, those last seen not voting
// first: cut off with the leader, voters could be a majority of the
// voters (while the autopilot replaces a lost one, three voters among six
// homes), and the "minority" would rightly go on committing.
func (l *lab) nonVotersFirst(nb, except int) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out, voters []int
	for i := range l.nbOf {
		switch {
		case l.nbOf[i] != nb || i == except:
		case l.tr.homes[i].last.Voter:
			voters = append(voters, i)
		default:
			out = append(out, i)
		}
	}
	return append(out, voters...)
}

// isolate cuts one home that does not lead off every other home for
// PartitionHold: it falls back to its own control when its lease runs
// out and must come back on its neighborhood's plans once healed, with
// no election.
func (l *lab) isolate(ctx context.Context, nb int) error {
	lead := l.leader(nb)
	v := -1
	for i := range l.nbOf {
		if l.nbOf[i] == nb && i != lead {
			v = i
			break
		}
	}
	if err := l.net.cut(ctx, []string{l.addrs[v]}); err != nil {
		return err
	}
	f := l.record("isolate", nb, []int{v})
	serr := sleep(ctx, time.Until(f.at.Add(l.cfg.PartitionHold)))
	if err := l.net.cut(context.WithoutCancel(ctx), nil); err != nil {
		return err
	}
	healed := time.Now()
	l.mu.Lock()
	l.tr.healed()
	l.mu.Unlock()
	if serr != nil {
		return serr
	}
	return l.back(ctx, f, healed, "isolated "+l.names[v]+" back on its neighborhood's plans", func(t *tracker) bool { return l.settled(t, nb) })
}

// restartAll SIGKILLs every home at once, as a power cut to the whole
// city would, and restarts them all from their data directories
// KillDowntime later: the neighborhoods must come back as the clusters
// they were, founding none.
func (l *lab) restartAll(ctx context.Context) error {
	l.plans.gatherAll(ctx)
	for _, p := range l.procs {
		if err := p.signal(syscall.SIGKILL); err != nil {
			return err
		}
	}
	at := time.Now()
	l.mu.Lock()
	for i := range l.procs {
		l.tr.killed(i)
	}
	l.tr.restartAlls++
	f := l.tr.cityFault(at, "restart-all")
	l.mu.Unlock()
	l.log.Info("restart-all: every home killed")
	for _, p := range l.procs {
		if err := p.wait(ctx); err != nil {
			return err
		}
	}
	if err := sleep(ctx, time.Until(at.Add(l.cfg.KillDowntime))); err != nil {
		return err
	}
	for i, p := range l.procs {
		l.mu.Lock()
		l.tr.restarted(i)
		l.mu.Unlock()
		if err := p.start(); err != nil {
			return err
		}
	}
	return l.back(ctx, f, time.Now(), "every neighborhood back after restart-all", l.formed)
}

// back waits for cond after a fault ended at since, and records how long
// it took in f.
func (l *lab) back(ctx context.Context, f *faultTrack, since time.Time, what string, cond func(*tracker) bool) error {
	if err := l.waitFor(ctx, settleTimeout, what, cond); err != nil {
		return err
	}
	l.mu.Lock()
	f.BackMs = float64(time.Since(since).Microseconds()) / 1000
	l.tr.closeFault(f)
	l.mu.Unlock()
	return nil
}
