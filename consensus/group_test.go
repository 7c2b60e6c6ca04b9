package consensus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/consensus/consensustest"
)

// settle bounds every wait for the cluster: elections take a few hundred
// milliseconds; this only bounds how long a broken test takes to fail.
const settle = 15 * time.Second

type member struct {
	name string
	id   peer.ID
	cfg  consensus.Config
	g    *consensus.Group
	// The member's transport: an endpoint of net (each open joins
	// afresh) or, with net nil, libp2p streams on h.
	net *consensustest.Network
	ep  *consensustest.Endpoint
	h   host.Host
}

func (m *member) transport() consensus.Transport {
	if m.net == nil {
		return consensus.NewHostTransport(m.h)
	}
	m.ep = m.net.Endpoint(m.id)
	return m.ep
}

// open opens m's group, closed when the test ends.
func (m *member) open(t testing.TB, log *slog.Logger) {
	t.Helper()
	g, err := consensus.Open(m.cfg, m.transport(), log.With("home", m.name))
	if err != nil {
		t.Fatalf("Open %s: %v", m.name, err)
	}
	m.g = g
	t.Cleanup(func() { _ = g.Close() })
}

// kill stops m hard: its group, then its transport.
func (m *member) kill(t *testing.T) {
	t.Helper()
	if err := m.g.Close(); err != nil {
		t.Errorf("Close %s: %v", m.name, err)
	}
	if m.net != nil {
		_ = m.ep.Close()
	} else {
		_ = m.h.Close()
	}
}

// newCluster opens a group of voters then non-voters on an in-memory
// network, in DataDirs of their own when durable. Call it inside a
// synctest bubble: raft's timeouts then pass in virtual time.
func newCluster(t testing.TB, voters, nonVoters int, durable bool) []*member {
	t.Helper()
	net := consensustest.NewNetwork()
	ms := newMembers(t, consensustest.NewPeerIDs(t, voters+nonVoters), voters, durable, func(m *member) { m.net = net })
	return openAll(t, ms)
}

// newHostCluster is newCluster on libp2p hosts of 127.0.0.1, for
// benchmarks of the real transport.
func newHostCluster(tb testing.TB, voters, nonVoters int, durable bool) []*member {
	tb.Helper()
	ids, place := onHosts(tb, voters+nonVoters)
	return openAll(tb, newMembers(tb, ids, voters, durable, place))
}

// onHosts starts n libp2p hosts of 127.0.0.1 and returns their IDs and
// a placement that gives each member, in turn, the next host.
func onHosts(tb testing.TB, n int) ([]peer.ID, func(*member)) {
	tb.Helper()
	hosts := consensustest.NewHosts(tb, n)
	ids := make([]peer.ID, len(hosts))
	for i, h := range hosts {
		ids[i] = h.ID()
	}
	i := 0
	return ids, func(m *member) { m.h = hosts[i]; i++ }
}

// newMembers configures a member per ID, the first voters of them
// voting, when voters is above 0; with none, no servers are configured
// (the group waits for Bootstrap).
func newMembers(tb testing.TB, ids []peer.ID, voters int, durable bool, place func(*member)) []*member {
	tb.Helper()
	var servers []consensus.Server
	for i, id := range ids {
		if voters > 0 {
			servers = append(servers, consensus.Server{ID: id.String(), Voter: i < voters})
		}
	}
	ms := make([]*member, len(ids))
	for i, id := range ids {
		cfg := consensus.DefaultConfig()
		cfg.Neighborhood = "nb-1"
		cfg.LocalID = id.String()
		cfg.Servers = servers
		if durable {
			cfg.DataDir = tb.TempDir()
		}
		ms[i] = &member{name: "home-" + strconv.Itoa(i), id: id, cfg: cfg}
		place(ms[i])
	}
	return ms
}

func openAll(tb testing.TB, ms []*member) []*member {
	tb.Helper()
	log := consensustest.Logger(tb)
	for _, m := range ms {
		m.open(tb, log)
	}
	return ms
}

// waitLeader waits until one member leads and every member names it.
func waitLeader(t testing.TB, ms []*member) *member {
	t.Helper()
	var leader *member
	consensustest.WaitFor(t, settle, func() error {
		leader = nil
		for _, m := range ms {
			if m.g.IsLeader() {
				if leader != nil {
					return fmt.Errorf("%s and %s both lead", leader.name, m.name)
				}
				leader = m
			}
		}
		if leader == nil {
			return errors.New("no leader")
		}
		for _, m := range ms {
			if id, _ := m.g.Leader(); id != leader.id.String() {
				return fmt.Errorf("%s names leader %q, want %s", m.name, id, leader.name)
			}
		}
		return nil
	})
	return leader
}

func commit(t *testing.T, m *member, body string) gridmesh.Epoch {
	t.Helper()
	e, err := m.g.Commit(context.Background(), []byte(body))
	if err != nil {
		t.Fatalf("Commit on %s: %v", m.name, err)
	}
	return e
}

// waitPlan waits until every member's FSM holds the plan.
func waitPlan(t *testing.T, ms []*member, e gridmesh.Epoch, body string, committed uint64) {
	t.Helper()
	consensustest.WaitFor(t, settle, func() error {
		for _, m := range ms {
			ge, gb, gn := m.g.Latest()
			if ge != e || string(gb) != body || gn != committed {
				return fmt.Errorf("%s holds %v %q (%d plans), want %v %q (%d)", m.name, ge, gb, gn, e, body, committed)
			}
		}
		return nil
	})
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func TestClusterCommitsAndFailsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { commitsAndFailsOver(t, newCluster(t, 3, 1, false)) })
}

// The same over libp2p streams of hosts on 127.0.0.1, in real time: the
// transport raft runs on in a home.
func TestClusterCommitsAndFailsOverOnHosts(t *testing.T) {
	commitsAndFailsOver(t, newHostCluster(t, 3, 1, false))
}

// commitsAndFailsOver commits on the leader of ms (3 voters, then a
// non-voter), kills it, and checks a voter takes over.
func commitsAndFailsOver(t *testing.T, ms []*member) {
	nonVoter := ms[3]

	leader := waitLeader(t, ms)
	if leader == nonVoter {
		t.Fatal("the non-voter leads")
	}
	e1 := commit(t, leader, "plan-1")
	if _, term := leader.g.Leader(); e1.Term != term || e1.Index == 0 {
		t.Fatalf("epoch %v, leader's term %d", e1, term)
	}
	waitPlan(t, ms, e1, "plan-1", 1) // the non-voter too

	// A follower refuses, naming the leader.
	for _, m := range ms {
		if m == leader {
			continue
		}
		_, err := m.g.Commit(context.Background(), []byte("plan-x"))
		var nle *consensus.NotLeaderError
		if !errors.As(err, &nle) || nle.Leader != leader.id.String() {
			t.Fatalf("Commit on follower %s: %v, want NotLeaderError naming %s", m.name, err, leader.id)
		}
	}
	if err := leader.g.VerifyLeader(context.Background()); err != nil {
		t.Fatalf("VerifyLeader on the leader: %v", err)
	}

	// Kill the leader hard; a voter takes over and commits in a higher term.
	rest := slices.DeleteFunc(slices.Clone(ms), func(m *member) bool { return m == leader })
	for _, m := range rest {
		drain(m.g.LeaderChanges())
	}
	leader.kill(t)
	killed := time.Now()
	var next *member
	var e2 gridmesh.Epoch
	consensustest.WaitFor(t, settle, func() error {
		for _, m := range rest {
			if !m.g.IsLeader() {
				continue
			}
			e, err := m.g.Commit(context.Background(), []byte("plan-2"))
			if err != nil {
				return err
			}
			next, e2 = m, e
			return nil
		}
		return errors.New("no new leader")
	})
	t.Logf("failover: leader killed → new leader committed in %v", time.Since(killed).Round(time.Millisecond))

	if next == nonVoter {
		t.Fatal("the non-voter took over")
	}
	if !e2.After(e1) || e2.Term <= e1.Term {
		t.Fatalf("new leader's epoch %v, want a term above %v", e2, e1)
	}
	select {
	case <-next.g.LeaderChanges():
	default:
		t.Error("the new leader got no notice on LeaderChanges")
	}
	_, _, committed := next.g.Latest()
	waitPlan(t, rest, e2, "plan-2", committed)
	for _, m := range rest {
		if id, term := m.g.Leader(); id != next.id.String() || term < e2.Term {
			t.Errorf("%s names %q in term %d, want %s in term ≥ %d", m.name, id, term, next.name, e2.Term)
		}
	}
	if nonVoter.g.IsLeader() {
		t.Error("the non-voter leads")
	}
}

func TestNonVoterNeverLeads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newCluster(t, 1, 1, false)
		voter, nonVoter := ms[0], ms[1]
		if waitLeader(t, ms) != voter {
			t.Fatal("the non-voter leads")
		}
		e := commit(t, voter, "plan-1")
		waitPlan(t, ms, e, "plan-1", 1)

		voter.kill(t)
		consensustest.WaitFor(t, settle, func() error {
			if id, _ := nonVoter.g.Leader(); id != "" {
				return fmt.Errorf("the non-voter still names leader %s", id)
			}
			return nil
		})
		// Once it has given the leader up, a voter would stand within an
		// election timeout or two; watch for several.
		watch := 5 * nonVoter.cfg.ElectionTimeout
		for end := time.Now().Add(watch); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if st := nonVoter.g.Stats()["state"]; st != "Follower" {
				t.Fatalf("the non-voter turned %s", st)
			}
		}
		var nle *consensus.NotLeaderError
		if _, err := nonVoter.g.Commit(context.Background(), []byte("plan-2")); !errors.As(err, &nle) || nle.Leader != "" {
			t.Fatalf("Commit on the leaderless non-voter: %v, want NotLeaderError with no leader", err)
		}
		if ge, gb, _ := nonVoter.g.Latest(); ge != e || string(gb) != "plan-1" {
			t.Fatalf("the non-voter lost its plan: %v %q", ge, gb)
		}
	})
}

// recorder keeps the messages logged through it.
type recorder struct {
	slog.Handler
	mu   *sync.Mutex
	msgs *[]string
}

func (r recorder) Handle(ctx context.Context, rec slog.Record) error {
	r.mu.Lock()
	*r.msgs = append(*r.msgs, rec.Message)
	r.mu.Unlock()
	return r.Handler.Handle(ctx, rec)
}
func (r recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return recorder{r.Handler.WithAttrs(as), r.mu, r.msgs}
}
func (r recorder) WithGroup(n string) slog.Handler {
	return recorder{r.Handler.WithGroup(n), r.mu, r.msgs}
}

func (r recorder) logged(msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(*r.msgs, msg)
}

func TestReopenFromDataDir(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newCluster(t, 3, 0, true)
		leader := waitLeader(t, ms)
		var e gridmesh.Epoch
		for i := 1; i <= 3; i++ {
			e = commit(t, leader, "plan-"+strconv.Itoa(i))
		}
		waitPlan(t, ms, e, "plan-3", 3)

		f := ms[0]
		if f == leader {
			f = ms[1]
		}
		if err := f.g.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		e4 := commit(t, leader, "plan-4") // two of three voters still commit

		rec := recorder{Handler: consensustest.Logger(t).Handler(), mu: new(sync.Mutex), msgs: new([]string)}
		f.open(t, slog.New(rec))
		if !rec.logged("resuming raft group from stored state") || rec.logged("bootstrapped raft group") {
			t.Fatalf("reopened member did not resume its stored state; logged %q", *rec.msgs)
		}
		if last, _ := strconv.ParseUint(f.g.Stats()["last_log_index"], 10, 64); last < e.Index {
			t.Fatalf("reopened log ends at %d, before the last plan it had (%v)", last, e)
		}
		// Its FSM comes back once the leader tells it the commit index, and
		// each plan is counted once.
		waitPlan(t, ms, e4, "plan-4", 4)
	})
}

func TestOpenRefusesAnotherPeersTransport(t *testing.T) {
	ids := consensustest.NewPeerIDs(t, 2)
	cfg := consensus.DefaultConfig()
	cfg.Neighborhood = "nb-1"
	cfg.LocalID = ids[0].String()
	cfg.Servers = []consensus.Server{{ID: ids[0].String(), Voter: true}}
	if g, err := consensus.Open(cfg, consensustest.NewNetwork().Endpoint(ids[1]), consensustest.Logger(t)); err == nil {
		_ = g.Close()
		t.Fatal("Open accepted a transport whose peer is not LocalID")
	}
}

func TestCloseIsIdempotentAndStopsCommits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newCluster(t, 1, 0, false)
		waitLeader(t, ms)
		g := ms[0].g
		if err := g.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := g.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := g.Commit(context.Background(), []byte("plan")); err == nil {
			t.Fatal("Commit after Close succeeded")
		}
	})
}

// A leader cut off from the other voters steps down when its lease runs
// out and cannot commit; the two it left elect one of them, who commits.
// Healed, the old leader follows the new one and holds its plan.
func TestPartitionedLeaderStepsDownAndCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newCluster(t, 3, 0, false)
		old := waitLeader(t, ms)
		e1 := commit(t, old, "plan-1")
		waitPlan(t, ms, e1, "plan-1", 1)
		rest := slices.DeleteFunc(slices.Clone(ms), func(m *member) bool { return m == old })

		old.net.Partition(old.id)
		next := waitLeader(t, rest)
		e2 := commit(t, next, "plan-2")
		if e2.Term <= e1.Term {
			t.Fatalf("the majority's plan %v is not of a newer term than %v", e2, e1)
		}
		consensustest.WaitFor(t, settle, func() error {
			if old.g.IsLeader() {
				return errors.New("the cut-off leader still believes it leads")
			}
			return nil
		})
		var nle *consensus.NotLeaderError
		if _, err := old.g.Commit(context.Background(), []byte("stale")); !errors.As(err, &nle) {
			t.Fatalf("Commit on the cut-off former leader: %v, want NotLeaderError", err)
		}

		old.net.Heal()
		waitPlan(t, ms, e2, "plan-2", 2)
		if waitLeader(t, ms) != next {
			t.Error("leadership moved on healing; the majority's leader should keep it")
		}
	})
}

// An aside the leader committed (the island's forecast history summary,
// in a node) is on every member, and the leader that takes over after
// the first is killed reads it at once and keeps it beside its own plans.
func TestAsideSurvivesFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newCluster(t, 3, 0, false)
		leader := waitLeader(t, ms)
		summary := bytes.Repeat([]byte{1, 2, 3}, 1000)
		if err := leader.g.CommitAside(context.Background(), summary); err != nil {
			t.Fatal(err)
		}
		e1 := commit(t, leader, "plan-1")
		waitPlan(t, ms, e1, "plan-1", 1)
		for _, m := range ms {
			if m == leader {
				continue
			}
			if err := m.g.CommitAside(context.Background(), summary); !errors.As(err, new(*consensus.NotLeaderError)) {
				t.Fatalf("CommitAside on follower %s: %v, want NotLeaderError", m.name, err)
			}
		}
		rest := slices.DeleteFunc(slices.Clone(ms), func(m *member) bool { return m == leader })
		leader.kill(t)
		var next *member
		consensustest.WaitFor(t, settle, func() error {
			for _, m := range rest {
				if m.g.IsLeader() {
					next = m
					return nil
				}
			}
			return errors.New("no new leader")
		})
		if got := next.g.Aside(); !bytes.Equal(got, summary) {
			t.Fatalf("the new leader holds an aside of %d bytes, want the old leader's %d", len(got), len(summary))
		}
		commit(t, next, "plan-2")
		if got := next.g.Aside(); !bytes.Equal(got, summary) {
			t.Fatal("a plan displaced the aside")
		}
	})
}
