package testnet

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/mesh"
)

// Attacks on the neighborhood's membership: members lying about the
// cluster they hold, and a member revoked.
const (
	// ScenarioWitnessLie: from Duration·5/16 two admitted members announce,
	// every telemetry period until the end, that they hold a cluster
	// whose name sorts before every real one (founded at the Unix epoch),
	// to make the neighborhood's homes wipe their Raft state and ask to
	// join them (consensus.Contender is what holds them off).
	ScenarioWitnessLie = "witness-lie"
	// ScenarioRevoke: at Duration·11/16 a voter of the first neighborhood
	// (not its leader) is revoked with the neighborhood's key, through
	// another member, as `gridmesh neighborhood revoke` does; the revoked
	// home runs on, outside its neighborhood.
	ScenarioRevoke = "revoke"
)

// revokeWatch bounds how long the revoke scenario waits for every home to
// refuse the revoked one and for it to leave the Raft configuration:
// far above the plan period the refusal must take and the upkeep period
// the removal needs, so a slow case is measured, not cut off.
const revokeWatch = 20 * time.Second

// membershipAttackMeanings are the report keys of these scenarios.
var membershipAttackMeanings = map[string]string{
	"attacks.witness_lie.announcements":                "reports announcing the made-up cluster the two members published",
	"attacks.witness_lie.homes_wiped":                  "homes of the neighborhood that wiped their Raft state while the lie stood (0 is right)",
	"attacks.witness_lie.homes_following_lie":          "homes seen naming or asking to join the made-up cluster (0 is right)",
	"attacks.witness_lie.plan_delivery_rate":           "plans honest homes of the neighborhood accepted while the lie stood, over one a plan period each",
	"attacks.revoke.peer":                              "the revoked home's peer ID",
	"attacks.revoke.was_voter":                         "whether it voted in the neighborhood's Raft group when revoked",
	"attacks.revoke.commit_ms":                         "from the revocation's submission to a member to its commit on the neighborhood's log, ms",
	"attacks.revoke.homes":                             "homes of the neighborhood (the revoked one aside) that must refuse it",
	"attacks.revoke.homes_refusing":                    "of them, homes that refuse it (gater, topics, Raft transport)",
	"attacks.revoke.not_refusing":                      "the homes that did not refuse it within 20 s, with their Raft role then (a home outside the configuration does not receive the log)",
	"attacks.revoke.refused_everywhere_ms":             "from the revocation's commit (as the member it was submitted to answered) to the last of them refusing it, ms (within a plan period is right)",
	"attacks.revoke.refused_everywhere_from_submit_ms": "the same from its submission, the commit included, ms",
	"attacks.revoke.left_raft_configuration_ms":        "from the submission until the leader's Raft configuration no longer holds it, ms",
	"attacks.revoke.plan_period_ms":                    "the plan period, ms: the bound for refused_everywhere_ms",
}

// WitnessLieReport: see membershipAttackMeanings.
type WitnessLieReport struct {
	Announcements     uint64  `json:"announcements"`
	HomesWiped        uint64  `json:"homes_wiped"`
	HomesFollowingLie int     `json:"homes_following_lie"`
	PlanDeliveryRate  float64 `json:"plan_delivery_rate"`
}

// RevokeReport: see membershipAttackMeanings. RefusedEverywhereMs and
// LeftRaftConfigurationMs are -1 when it did not happen within
// revokeWatch.
type RevokeReport struct {
	Peer                          string   `json:"peer"`
	WasVoter                      bool     `json:"was_voter"`
	CommitMs                      float64  `json:"commit_ms"`
	Homes                         int      `json:"homes"`
	HomesRefusing                 int      `json:"homes_refusing"`
	NotRefusing                   []string `json:"not_refusing,omitempty"`
	RefusedEverywhereMs           float64  `json:"refused_everywhere_ms"`
	RefusedEverywhereFromSubmitMs float64  `json:"refused_everywhere_from_submit_ms"`
	LeftRaftConfigurationMs       float64  `json:"left_raft_configuration_ms"`
	PlanPeriodMs                  float64  `json:"plan_period_ms"`
}

// membershipEvents returns the events of these scenarios in the run's
// configuration.
func (a *attacks) membershipEvents(start func(func(context.Context)) func(context.Context, time.Time)) []event {
	var evs []event
	d := a.r.cfg.Duration
	if a.r.cfg.has(ScenarioWitnessLie) {
		evs = append(evs, event{at: d * 5 / 16, name: "witness-lie", do: start(a.runWitnessLie)})
	}
	if a.r.cfg.has(ScenarioRevoke) {
		evs = append(evs, event{at: d * 11 / 16, name: "revoke", do: start(a.runRevoke)})
	}
	return evs
}

// lieCluster is the made-up cluster the witnesses announce: founded at
// the Unix epoch by the first of them, it sorts before any real name
// (consensus.ClusterName).
func lieCluster(founder string) string { return fmt.Sprintf("%013d-%s", 0, founder) }

// runWitnessLie has two admitted members announce lieCluster every
// telemetry period until the attacks stop, and watches the
// neighborhood's homes for a wipe or a home naming the lie.
func (a *attacks) runWitnessLie(ctx context.Context) {
	nb := a.r.c.nbhds[0]
	var witnesses []*mesh.Neighborhood
	var name string
	for i := range 2 {
		m, n, _, err := a.member(ctx, fmt.Sprintf("witness-%d", i+1))
		if err != nil {
			a.fail("witness-lie", err)
			return
		}
		if name == "" {
			name = lieCluster(m.ID().String())
		}
		witnesses = append(witnesses, n)
	}
	rep := &WitnessLieReport{}
	began := time.Now()
	accepted0, wiped0 := a.sum(nb, "plans_accepted"), a.sum(nb, "cluster_merges")
	following := map[gridmesh.HomeID]bool{}
	period := a.r.cfg.Node.TelemetryPeriod
	for seq := uint64(1); ctx.Err() == nil; seq++ {
		for i, n := range witnesses {
			t := gridmesh.Telemetry{
				Version: gridmesh.WireVersion, Home: gridmesh.HomeID(fmt.Sprintf("witness-%d", i+1)), Neighborhood: nb.id,
				Seq: seq, AtMs: time.Now().UnixMilli(), NoReading: true,
				Cluster: name, Joined: true, Applied: 1 << 40,
			}
			if n.PublishTelemetry(ctx, t) == nil {
				rep.Announcements++
			}
		}
		// Watch four times a period: a home that followed the lie names
		// it in Joining from its wipe on (no leader ever adds it).
		for range 4 {
			for _, h := range nb.live() {
				if s := h.node.Status(); s.Cluster == name || s.Joining == name {
					following[h.id] = true
				}
			}
			if !backoff.Sleep(ctx, period/4) {
				break
			}
		}
		rep.HomesFollowingLie = len(following)
		rep.HomesWiped = a.sum(nb, "cluster_merges") - wiped0
		rep.PlanDeliveryRate = a.deliveryRate(nb, a.sum(nb, "plans_accepted")-accepted0, time.Since(began))
		a.mu.Lock()
		a.witnessLie = new(*rep)
		a.mu.Unlock()
	}
}

// runRevoke revokes a voter of the first neighborhood that does not lead
// and measures how long until every other home of it refuses the voter
// and the leader's configuration no longer holds it.
func (a *attacks) runRevoke(ctx context.Context) {
	nb := a.r.c.nbhds[0]
	leader, _ := leaderOf(nb)
	target, via := revokeTarget(nb.live(), leader)
	if target == nil || via == nil {
		a.fail("revoke", fmt.Errorf("no home to revoke and another to submit through in %s", nb.id))
		return
	}
	p := target.node.PeerID().String()
	rep := &RevokeReport{Peer: p, WasVoter: target.node.Status().Voter, PlanPeriodMs: ms(a.r.cfg.Node.PlanPeriod),
		RefusedEverywhereMs: -1, RefusedEverywhereFromSubmitMs: -1, LeftRaftConfigurationMs: -1}
	r := gridmesh.Revocation{Version: gridmesh.WireVersion, Neighborhood: nb.id, Peer: p, IssuedMs: time.Now().UnixMilli()}
	if err := r.Sign(nb.priv); err != nil {
		a.fail("revoke", err)
		return
	}
	b, err := r.AppendBinary(nil)
	if err != nil {
		a.fail("revoke", err)
		return
	}
	// From now on the revoked home is no home of the neighborhood: the
	// sampler no longer counts it (it runs on, refused).
	target.revoked.Store(true)
	submitted := time.Now()
	for {
		if _, err = via.node.SubmitRevocation(ctx, b); err == nil {
			break
		}
		// No leader at this instant (an election): submit again.
		if time.Since(submitted) > revokeWatch || !backoff.Sleep(ctx, a.r.cfg.Node.PlanPeriod/4) {
			a.fail("revoke", err)
			return
		}
	}
	committed := time.Now()
	rep.CommitMs = ms(committed.Sub(submitted))
	homes := nb.live()
	rep.Homes = len(homes)
	refused, left := false, false
	for time.Since(committed) < revokeWatch && !(refused && left) && backoff.Sleep(ctx, 10*time.Millisecond) {
		rep.HomesRefusing, rep.NotRefusing = refusing(homes, p)
		if !refused && rep.HomesRefusing == len(homes) {
			last := lastRefusal(homes, p)
			// A home may apply the entry before the submitter hears of
			// its commit: that home refused it at the commit.
			refused, rep.RefusedEverywhereMs = true, ms(max(0, last.Sub(committed)))
			rep.RefusedEverywhereFromSubmitMs = ms(last.Sub(submitted))
		}
		if !left && leftConfiguration(nb, p) {
			left, rep.LeftRaftConfigurationMs = true, ms(time.Since(submitted))
		}
	}
	a.mu.Lock()
	a.revoke = rep
	a.mu.Unlock()
}

// revokeTarget picks the home to revoke (a voter that does not lead,
// else any home that does not lead) and another to submit through.
func revokeTarget(live []*home, leader *home) (target, via *home) {
	for _, voter := range []bool{true, false} {
		for _, h := range slices.Backward(live) {
			if h != leader && (!voter || h.node.Status().Voter) {
				target = h
				break
			}
		}
		if target != nil {
			break
		}
	}
	for _, h := range live {
		if h != target {
			return target, h
		}
	}
	return target, nil
}

// refusing counts the homes that refuse peer p, and describes the others.
func refusing(homes []*home, p string) (int, []string) {
	k := 0
	var not []string
	for _, h := range homes {
		if _, ok := h.node.RevokedAt(p); ok {
			k++
			continue
		}
		s := h.node.Status()
		not = append(not, fmt.Sprintf("%s (cluster %q, voter %v, raft members %d, applied %d plans)", h.id, s.Cluster, s.Voter, s.RaftMembers, s.PlansInLog))
	}
	return k, not
}

// lastRefusal is when the last of homes began refusing p.
func lastRefusal(homes []*home, p string) time.Time {
	var last time.Time
	for _, h := range homes {
		if at, ok := h.node.RevokedAt(p); ok && at.After(last) {
			last = at
		}
	}
	return last
}

// leftConfiguration reports whether nb's leader holds a configuration
// without p.
func leftConfiguration(nb *neighborhood, p string) bool {
	leader, _ := leaderOf(nb)
	if leader == nil {
		return false
	}
	members, ok := leader.node.RaftMembers()
	return ok && !slices.Contains(members, p)
}

// membershipReport checks these scenarios' figures; call from report.
func (a *attacks) membershipReport(rep *AttacksReport) {
	rep.WitnessLie, rep.Revoke = a.witnessLie, a.revoke
	cfg := a.r.cfg
	switch w := a.witnessLie; {
	case w == nil && cfg.has(ScenarioWitnessLie):
		a.r.errors = append(a.r.errors, "witness-lie: did not run")
	case w != nil && (w.HomesWiped > 0 || w.HomesFollowingLie > 0):
		a.r.errors = append(a.r.errors, fmt.Sprintf("witness-lie: %d homes wiped, %d followed the made-up cluster", w.HomesWiped, w.HomesFollowingLie))
	}
	switch v := a.revoke; {
	case v == nil && cfg.has(ScenarioRevoke):
		a.r.errors = append(a.r.errors, "revoke: did not run")
	case v == nil:
	case v.RefusedEverywhereMs < 0 || v.RefusedEverywhereMs > v.PlanPeriodMs:
		a.r.errors = append(a.r.errors, fmt.Sprintf("revoke: %d of %d homes refused the revoked peer within %v, all of them %.0f ms after the commit (-1: not; plan period %.0f ms); not refusing: %v",
			v.HomesRefusing, v.Homes, revokeWatch, v.RefusedEverywhereMs, v.PlanPeriodMs, v.NotRefusing))
	case v.LeftRaftConfigurationMs < 0:
		a.r.errors = append(a.r.errors, fmt.Sprintf("revoke: still in the Raft configuration %v after its revocation", revokeWatch))
	}
}
