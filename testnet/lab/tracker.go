package lab

import (
	"time"

	"github.com/gridmesh/gridmesh"
)

// sample is one home's answer at one poll: ok is false when it did not
// answer (stopped, killed, cut off from the router is not possible: the
// router reaches every home).
type sample struct {
	ok bool
	st status
}

// tracker turns polls and the lab's faults into the report's figures.
// It is a pure state machine: every method takes the time it is called
// at; the runner serializes calls.
type tracker struct {
	start  time.Time
	nbOf   []int          // home → neighborhood
	byPeer map[string]int // peer ID → home
	homes  []homeTrack
	nbs    []nbTrack

	withoutPlanMax    int
	stale, minority   uint64
	restartsFromDisk  int
	restarts          int
	faults            []*faultTrack
	part              *partitionTrack // the partition in force, if any
	foundedAfterStart uint64          // clusters founded by restarted incarnations
	restartAlls       int
}

type homeTrack struct {
	last     status
	answered bool
	fresh    bool // answered at the last poll: last is not an older answer
	// totals of the counters of incarnations that have ended.
	founded, merges, refusedStale uint64
	restarted                     bool // current incarnation is a restart
	everLimited                   bool // seen with a relayed connection
	// verdicts are the AutoNAT verdicts the home gave itself at any poll
	// ("private", "public", "unknown").
	verdicts      map[string]bool
	clusterBefore string // cluster when last killed
	checkCluster  bool   // compare clusterBefore at the next answer naming one
}

type nbTrack struct {
	leader        int // home, -1 none seen yet
	leaderChanges int
	maxTerm       uint64 // newest plan term applied here at an earlier poll
	firstPlan     time.Time
}

type faultTrack struct {
	Fault
	at     time.Time
	nb     int // -1: the whole city
	term   uint64
	except map[int]bool // homes not waited for (the victim, a minority)
	done   bool
	// open while the fault and its recovery last: Fault.WithoutPlanMax
	// and LeaderChanges count over that window; changesAt is the
	// neighborhoods' leader changes when it opened.
	open      bool
	changesAt int
}

type partitionTrack struct {
	nb       int
	term     uint64
	members  map[int]bool
	before   map[int]gridmesh.Epoch // minority's plans at the cut
	applied  []gridmesh.Epoch       // newer plans the minority applied
	majority gridmesh.Epoch         // newest plan of term in the majority's logs
}

func newTracker(start time.Time, nbOf []int, nbs int) *tracker {
	t := &tracker{start: start, nbOf: nbOf, byPeer: map[string]int{}, homes: make([]homeTrack, len(nbOf)), nbs: make([]nbTrack, nbs)}
	for i := range t.nbs {
		t.nbs[i].leader = -1
	}
	return t
}

// observe folds one poll of every home into the figures.
func (t *tracker) observe(now time.Time, ss []sample) {
	without := 0
	newest := make([]uint64, len(t.nbs))
	leaders := make([]int, len(t.nbs))
	for i := range leaders {
		leaders[i] = -1
	}
	for i, s := range ss {
		t.homes[i].fresh = s.ok
		if !s.ok {
			continue
		}
		h, nb := &t.homes[i], t.nbOf[i]
		t.byPeer[s.st.PeerID] = i
		applied := s.st.HasPlan && (!h.answered || s.st.PlanEpoch != h.last.PlanEpoch)
		if applied {
			t.planApplied(now, i, s.st.PlanEpoch)
		}
		if s.st.HasPlan {
			newest[nb] = max(newest[nb], s.st.PlanEpoch.Term)
			if t.nbs[nb].firstPlan.IsZero() {
				t.nbs[nb].firstPlan = now
			}
		}
		if s.st.EverPlanned && !s.st.HasPlan {
			without++
		}
		if s.st.IsLeader && (leaders[nb] < 0 || s.st.Term > ss[leaders[nb]].st.Term) {
			leaders[nb] = i
		}
		if h.checkCluster && s.st.Cluster != "" {
			h.checkCluster = false
			if s.st.Cluster == h.clusterBefore {
				t.restartsFromDisk++
			}
		}
		if p := t.part; p != nil && p.nb == nb && !p.members[i] && s.st.CommittedEpoch.Term == p.term && s.st.CommittedEpoch.After(p.majority) {
			p.majority = s.st.CommittedEpoch
		}
		h.everLimited = h.everLimited || s.st.Conns != nil && s.st.Conns.Limited > 0
		if c := s.st.Conns; c != nil && c.Reachability != "" {
			if h.verdicts == nil {
				h.verdicts = map[string]bool{}
			}
			h.verdicts[c.Reachability] = true
		}
		h.last, h.answered = s.st, true
	}
	t.withoutPlanMax = max(t.withoutPlanMax, without)
	t.observeOpenFaults(ss)
	for nb, l := range leaders {
		n := &t.nbs[nb]
		if l >= 0 && l != n.leader {
			if n.leader >= 0 {
				n.leaderChanges++
			}
			n.leader = l
		}
		n.maxTerm = max(n.maxTerm, newest[nb])
	}
	t.checkFailovers(now, ss)
}

// planApplied judges a plan home i was first seen holding.
func (t *tracker) planApplied(_ time.Time, i int, e gridmesh.Epoch) {
	nb := t.nbOf[i]
	if e.Term < t.nbs[nb].maxTerm {
		t.stale++
	}
	if p := t.part; p != nil && p.members[i] && e.After(p.before[i]) {
		p.applied = append(p.applied, e)
	}
}

// observeOpenFaults counts, for every fault still open, the homes of
// its neighborhood (of the city) that have had a plan and hold none.
func (t *tracker) observeOpenFaults(ss []sample) {
	for _, f := range t.faults {
		if !f.open {
			continue
		}
		without := 0
		for i, s := range ss {
			if s.ok && (f.nb < 0 || t.nbOf[i] == f.nb) && s.st.EverPlanned && !s.st.HasPlan {
				without++
			}
		}
		f.WithoutPlanMax = max(f.WithoutPlanMax, without)
	}
}

// leaderChanges sums the leader changes seen in neighborhood nb (every
// neighborhood for -1).
func (t *tracker) leaderChanges(nb int) int {
	n := 0
	for k, tr := range t.nbs {
		if nb < 0 || k == nb {
			n += tr.leaderChanges
		}
	}
	return n
}

// closeFault ends f's window: its neighborhood (the city) has recovered,
// or the run ends.
func (t *tracker) closeFault(f *faultTrack) {
	if !f.open {
		return
	}
	f.open = false
	f.LeaderChanges = t.leaderChanges(f.nb) - f.changesAt
}

// cityFault records a fault on every home at now (loss, restart-all):
// no leader is taken away by it alone, so no failover is awaited.
func (t *tracker) cityFault(now time.Time, kind string) *faultTrack {
	f := &faultTrack{Fault: Fault{Kind: kind, AtS: now.Sub(t.start).Seconds(), FailoverMs: -1, BackMs: -1}, at: now, nb: -1, open: true, changesAt: t.leaderChanges(-1)}
	t.faults = append(t.faults, f)
	return f
}

// checkFailovers closes every fault whose neighborhood's other homes all
// hold a plan of a newer term than the fault's.
func (t *tracker) checkFailovers(now time.Time, ss []sample) {
	for _, f := range t.faults {
		if f.done || f.term == 0 {
			continue
		}
		ok := true
		for i, s := range ss {
			if t.nbOf[i] != f.nb || f.except[i] {
				continue
			}
			if !s.ok || !s.st.HasPlan || s.st.PlanEpoch.Term <= f.term {
				ok = false
				break
			}
		}
		if ok {
			f.done = true
			f.FailoverMs = float64(now.Sub(f.at).Microseconds()) / 1000
		}
	}
}

// leaderOf returns neighborhood nb's leader as last seen (-1: none) and
// its term.
func (t *tracker) leaderOf(nb int) (int, uint64) {
	l := t.nbs[nb].leader
	if l < 0 {
		return -1, 0
	}
	return l, t.homes[l].last.Term
}

// fault records a fault on home victim (and, for a partition, the other
// homes of the minority) at now; the failover it waits for is from the
// leader's term then.
func (t *tracker) fault(now time.Time, kind string, names []string, nb int, victims []int) *faultTrack {
	f := &faultTrack{Fault: Fault{Kind: kind, Home: names[victims[0]], AtS: now.Sub(t.start).Seconds(), FailoverMs: -1, BackMs: -1}, at: now, nb: nb, except: map[int]bool{}, open: true, changesAt: t.leaderChanges(nb)}
	_, f.term = t.leaderOf(nb)
	if !t.homes[victims[0]].last.IsLeader {
		f.term = 0 // no leader was taken away: nothing to fail over
	}
	for _, v := range victims {
		f.except[v] = true
		if kind == "partition" || kind == "isolate" {
			f.Minority = append(f.Minority, names[v])
		}
	}
	if kind == "kill" {
		t.killed(victims[0])
	}
	if kind == "partition" || kind == "isolate" {
		p := &partitionTrack{nb: nb, term: f.term, members: f.except, before: map[int]gridmesh.Epoch{}}
		for _, v := range victims {
			p.before[v] = t.homes[v].last.PlanEpoch
			if e := t.homes[v].last.CommittedEpoch; e.Term == p.term && e.After(p.majority) {
				p.majority = e // committed before the cut, by a quorum
			}
		}
		t.part = p
	}
	t.faults = append(t.faults, f)
	return f
}

// killed records that home i was killed: a restart should bring it
// back in the cluster it names now.
func (t *tracker) killed(i int) {
	h := &t.homes[i]
	h.clusterBefore = h.last.Cluster
}

// healed ends the partition in force.
func (t *tracker) healed() {
	p := t.part
	if p == nil {
		return
	}
	for _, e := range p.applied {
		if e.Term <= p.term && e.After(p.majority) {
			t.minority++
		}
	}
	t.part = nil
}

// restarted records that home i runs a new incarnation from its data
// directory: its previous incarnation's counters are kept.
func (t *tracker) restarted(i int) {
	h := &t.homes[i]
	t.fold(i)
	h.restarted = true
	h.checkCluster = h.clusterBefore != ""
	h.answered = false
	h.last = status{}
	t.restarts++
}

// fold adds home i's current incarnation's counters to its totals.
func (t *tracker) fold(i int) {
	h := &t.homes[i]
	c := h.last.Counters
	h.founded += c["clusters_founded"]
	h.merges += c["cluster_merges"]
	h.refusedStale += c["plans_stale"]
	if h.restarted {
		t.foundedAfterStart += c["clusters_founded"]
	}
	h.last.Counters = nil
}

// report fills r's figures; live[i] says whether home i's process runs.
func (t *tracker) report(r *Report, names, nbNames []string, live []bool) {
	for i := range t.homes {
		t.fold(i)
	}
	r.Neighborhood = make([]NeighborhoodReport, len(t.nbs))
	for nb := range t.nbs {
		n := &t.nbs[nb]
		nr := NeighborhoodReport{ID: nbNames[nb], LeaderChanges: n.leaderChanges, FirstPlanMs: -1}
		if !n.firstPlan.IsZero() {
			nr.FirstPlanMs = float64(n.firstPlan.Sub(t.start).Milliseconds())
		}
		_, term := t.leaderOf(nb)
		if n.leader >= 0 {
			nr.Leader = names[n.leader]
		}
		covered := 0
		for i, h := range t.homes {
			if t.nbOf[i] != nb {
				continue
			}
			nr.Homes++
			nr.ClustersFormed += h.founded
			nr.ClusterMerges += h.merges
			if !live[i] {
				continue
			}
			nr.LiveHomes++
			if h.answered && h.last.HasPlan && term > 0 && h.last.PlanEpoch.Term == term {
				covered++
			}
		}
		if nr.LiveHomes > 0 {
			nr.PlanCoverage = float64(covered) / float64(nr.LiveHomes)
		}
		r.Neighborhood[nb] = nr
	}
	for _, h := range t.homes {
		r.PlansRefusedStale += h.refusedStale
	}
	for _, f := range t.faults {
		t.closeFault(f)
		if f.nb >= 0 {
			f.Neighborhood = nbNames[f.nb]
		}
		r.Faults = append(r.Faults, f.Fault)
		if f.term > 0 {
			r.FailoverMs = append(r.FailoverMs, f.FailoverMs)
		}
		switch f.Kind {
		case "kill":
			r.Kills++
		case "stop":
			r.Stops++
		case "partition":
			r.Partitions++
		case "isolate":
			r.Isolations++
		case "flap":
			r.Flaps++
		case "loss":
			r.LossWindows++
		}
	}
	r.HomesWithoutValidPlanMax = t.withoutPlanMax
	r.StalePlansApplied, r.MinorityPlansApplied = t.stale, t.minority
	r.Restarts, r.RestartsFromDisk = t.restarts, t.restartsFromDisk
	r.RestartAlls = t.restartAlls
	r.NewClustersAfterRestart = t.foundedAfterStart
	if r.FailoverMs == nil {
		r.FailoverMs = []float64{}
	}
}
