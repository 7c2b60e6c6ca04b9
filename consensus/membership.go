package consensus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gridmesh/gridmesh"
)

// ErrHasState is returned by Bootstrap on a member that already holds
// Raft state: only a member with none may found a group.
var ErrHasState = errors.New("consensus: member already has raft state")

// membershipTimeout bounds one configuration change. Why 2 s: a change
// is one log entry, committed in milliseconds on a LAN; a change not
// committed in ten heartbeat timeouts will be retried by the next round
// of upkeep anyway.
const membershipTimeout = 2 * time.Second

// Bootstrap founds the neighborhood's group with voters (peer ID strings,
// this member among them) on a member that holds no Raft state. It
// returns ErrHasState on a member that does: bootstrap happens once, ever.
// The other voters need no state of their own: raft grants a vote to a
// candidate while it knows no configuration, and the first leader's log
// teaches them the configuration.
func (g *Group) Bootstrap(voters []string) error {
	servers := make([]Server, len(voters))
	for i, id := range voters {
		servers[i] = Server{ID: id, Voter: true}
	}
	if err := validateServers(servers, g.cfg.LocalID); err != nil {
		return err
	}
	if g.HasState() {
		return ErrHasState
	}
	err := g.r().BootstrapCluster(configuration(servers)).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		return ErrHasState
	}
	if err != nil {
		return fmt.Errorf("consensus: bootstrap: %w", err)
	}
	g.log.Info("founded the neighborhood's raft group", "voters", voters)
	return nil
}

// HasState reports whether this member holds Raft state: a configuration
// (bootstrapped, or taught by a leader) or any log entry.
func (g *Group) HasState() bool {
	r := g.r()
	if r.LastIndex() > 0 {
		return true
	}
	f := r.GetConfiguration()
	return f.Error() == nil && len(f.Configuration().Servers) > 0
}

// Members returns the newest Raft configuration this member knows (it may
// not be committed yet) and its log index.
func (g *Group) Members() ([]Server, uint64, error) {
	f := g.r().GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, 0, fmt.Errorf("consensus: configuration: %w", err)
	}
	conf := f.Configuration()
	out := make([]Server, 0, len(conf.Servers))
	for _, s := range conf.Servers {
		out = append(out, Server{ID: string(s.ID), Voter: s.Suffrage == raft.Voter})
	}
	return out, f.Index(), nil
}

// AddNonvoter adds id as a member that receives the log without voting,
// on the leader. A member already in the configuration keeps its
// suffrage.
func (g *Group) AddNonvoter(ctx context.Context, id string) error {
	return g.change(ctx, "add non-voter", func(r *raft.Raft, prev uint64) raft.IndexFuture {
		return r.AddNonvoter(raft.ServerID(id), raft.ServerAddress(id), prev, membershipTimeout)
	})
}

// AddVoter adds id as a voter, or promotes it, on the leader.
func (g *Group) AddVoter(ctx context.Context, id string) error {
	return g.change(ctx, "add voter", func(r *raft.Raft, prev uint64) raft.IndexFuture {
		return r.AddVoter(raft.ServerID(id), raft.ServerAddress(id), prev, membershipTimeout)
	})
}

// DemoteVoter makes voter id a non-voter, on the leader.
func (g *Group) DemoteVoter(ctx context.Context, id string) error {
	return g.change(ctx, "demote voter", func(r *raft.Raft, prev uint64) raft.IndexFuture {
		return r.DemoteVoter(raft.ServerID(id), prev, membershipTimeout)
	})
}

// RemoveServer removes id from the configuration, on the leader.
func (g *Group) RemoveServer(ctx context.Context, id string) error {
	return g.change(ctx, "remove server", func(r *raft.Raft, prev uint64) raft.IndexFuture {
		return r.RemoveServer(raft.ServerID(id), prev, membershipTimeout)
	})
}

// change makes one configuration change against the configuration this
// member holds now (raft refuses it if another change came first).
func (g *Group) change(ctx context.Context, what string, do func(*raft.Raft, uint64) raft.IndexFuture) error {
	r := g.r()
	cf := r.GetConfiguration()
	if err := cf.Error(); err != nil {
		return fmt.Errorf("consensus: %s: %w", what, err)
	}
	return g.leaderErr(what, wait(ctx, do(r, cf.Index())))
}

// ClusterID is the group's name as this member's FSM has applied it or,
// until it has, as its stored log held it when raft started (a member
// restarted without a snapshot applies its log only once a leader tells
// it what is committed, and a member removed while it was away never
// hears one); "" before the first leader named the group.
func (g *Group) ClusterID() string {
	in := g.cur.Load()
	if name := in.fsm.clusterID(); name != "" {
		return name
	}
	return in.storedName
}

// SetJoining names the cluster this member asks to join while its FSM
// names none: its Raft streams carry that name, so a leader of another
// cluster of the neighborhood cannot reach it (see streamLayer.match).
// "" asks for none.
func (g *Group) SetJoining(name string) {
	if name == "" {
		g.joining.Store(nil)
		return
	}
	g.joining.Store(&name)
}

// Joining is the name SetJoining last set, "" for none.
func (g *Group) Joining() string {
	if p := g.joining.Load(); p != nil {
		return *p
	}
	return ""
}

// OtherClusterStreams counts Raft streams this member refused because
// they came from another cluster of the neighborhood.
func (g *Group) OtherClusterStreams() uint64 { return g.cur.Load().layer.otherCluster.Load() }

// NameCluster commits id as the group's name if it has none, on the
// leader, and returns the group's name: id, or the name an earlier
// leader gave it.
func (g *Group) NameCluster(ctx context.Context, id string) (string, error) {
	if err := gridmesh.ValidClusterName(id); err != nil {
		return "", err
	}
	if name := g.ClusterID(); name != "" {
		return name, nil
	}
	f := g.r().Apply(clusterCommand(id), g.cfg.ApplyTimeout)
	if err := g.leaderErr("name cluster", wait(ctx, f)); err != nil {
		return "", err
	}
	name, _ := f.Response().(string)
	return name, nil
}

// AppliedIndex is the index of the last log entry this member applied.
func (g *Group) AppliedIndex() uint64 { return g.r().AppliedIndex() }

// Resets counts how many times Reset wiped this member.
func (g *Group) Resets() uint64 { return g.resets.Load() }

// Reset wipes this member's Raft state and starts it again with none, to
// be added by another group's leader: the way a member of a group that
// lost the merge rule joins the winner. It stops raft hard (no handover),
// deletes the stored log, stable store and snapshots, and starts raft
// again without bootstrapping.
func (g *Group) Reset() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("consensus: reset: group closed")
	}
	old := g.cur.Load()
	if err := old.stop(); err != nil {
		g.log.Warn("reset: stopping raft", "err", err)
	}
	if dir := g.cfg.DataDir; dir != "" {
		if err := wipe(dir); err != nil {
			return fmt.Errorf("consensus: reset: %w", err)
		}
	}
	in, err := g.start(false)
	if err != nil {
		// The group is left closed: nothing runs, Close returns this.
		g.closed, g.closeErr = true, fmt.Errorf("consensus: reset: %w", err)
		return g.closeErr
	}
	g.cur.Store(in)
	g.resets.Add(1)
	g.log.Warn("raft state wiped to join another group")
	return nil
}

// wipe removes the Raft files openStores keeps under dir.
func wipe(dir string) error {
	err := os.Remove(filepath.Join(dir, logFile))
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, os.RemoveAll(filepath.Join(dir, "snapshots")))
}

// Pause makes this member stop answering for d, as a stopped process
// (SIGSTOP) would, for fault tests and the testnet's pause-leader
// scenario: every Raft stream's reads and writes are held, so nothing
// reaches or leaves it, then released all at once. Unlike a stopped
// process, raft's own timers keep running: a paused leader steps down
// when its lease runs out rather than on resuming. Pause returns at once.
// Close ends a pause as a kill ends a stopped process: the streams close
// with nothing released, and the pause's timer never fires after Close
// has returned.
func (g *Group) Pause(d time.Duration) {
	l := g.cur.Load().layer
	gate := make(chan struct{})
	if !l.paused.CompareAndSwap(nil, &gate) {
		return // already paused
	}
	g.pause.start(d, func() {
		l.paused.Store(nil)
		close(gate)
	})
}

// pauseTimer ends pauses: it calls a pause's release when the pause's
// time is up, unless the pause was dropped first. Its mutex guards its
// fields and is held while a release runs, so once stop has returned no
// release runs.
type pauseTimer struct {
	mu      sync.Mutex
	t       *time.Timer // of the pending pause; nil when none is pending
	stopped bool
}

// start calls release after d, unless stop comes first. A pause still
// pending is dropped: it held the stream layer a Reset replaced, whose
// close freed its holders. Once stopped, start does nothing.
func (p *pauseTimer) start(d time.Duration, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.dropLocked()
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.t == t { // neither stopped nor replaced meanwhile
			p.t = nil
			release()
		}
	})
	p.t = t
}

// stop drops a pending pause and ends the timer for good.
func (p *pauseTimer) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.dropLocked()
}

// dropLocked stops the pending pause's timer, if any. Call with mu held.
func (p *pauseTimer) dropLocked() {
	if p.t != nil {
		p.t.Stop()
		p.t = nil
	}
}
