package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/gridmesh/gridmesh"
)

const (
	// maxPool is how many idle streams the transport keeps per peer.
	// Why 3: raft talks to a peer from its heartbeat goroutine, its
	// replication goroutine and, now and then, a vote, a pre-vote or a
	// snapshot; three idle streams cover the usual two with one to
	// spare, and pooling them is what makes an RPC cheaper than a stream
	// per RPC. More at once dial fresh streams, which are closed after.
	maxPool = 3
	// rpcTimeout bounds each RPC's I/O and each dial. Why 2 s: ten
	// heartbeat timeouts, enough for a libp2p dial and handshake on a
	// loaded 2-core testnet, while a dead peer's stream is still given up
	// long before anyone would notice; raft scales it up for snapshots.
	rpcTimeout = 2 * time.Second
)

// Group is this home's member of its neighborhood's Raft group. Its
// methods are safe for concurrent use.
type Group struct {
	cfg      Config
	tr       Transport
	log      *slog.Logger
	rlog     hclog.Logger
	leaderCh chan struct{} // size 1; a pending notice is enough
	revokeCh chan struct{} // size 1; every instance's FSM posts on it (revocation.go)

	// mu serializes Reset and Close; cur is the running raft instance,
	// replaced only by Reset.
	mu       sync.Mutex
	cur      atomic.Pointer[instance]
	closed   bool
	closeErr error
	resets   atomic.Uint64
	joining  atomic.Pointer[string] // SetJoining's name; nil for none
	pause    pauseTimer             // Pause's timer; Close stops it

	// beacon is the newest leader beacon this home believes (beacon.go);
	// beaconsRefused counts the ones it did not.
	beacon         beaconView
	beaconsRefused atomic.Uint64
	// beaconRev holds the revocations beacons carried, by peer and
	// signature, at most MaxRevocations (beacon.go); Revoked adds them
	// to the log's.
	beaconRevMu sync.Mutex
	beaconRev   map[string]gridmesh.Revocation
}

// instance is one run of raft: its FSM, transport and stores. Reset
// replaces it with a fresh one.
type instance struct {
	raft     *raft.Raft
	fsm      *fsm
	layer    *streamLayer
	trans    *rpcTransport
	stores   stores
	observer *raft.Observer
	// storedName is the cluster's name as the stored log held it when
	// this instance started: see ClusterID.
	storedName string
}

// nameScanLimit bounds how many stored entries storedClusterName reads.
// Why 64: the first leader names the cluster right after its election,
// a few entries after the bootstrap configuration; a log compacted past
// that entry came with a snapshot, which holds the name.
const nameScanLimit = 64

// storedClusterName returns the name the first naming entry in logs
// carries, "" for none among its first nameScanLimit entries.
func storedClusterName(logs raft.LogStore, log *slog.Logger) string {
	first, err := logs.FirstIndex()
	if err != nil {
		return ""
	}
	last, err := logs.LastIndex()
	if err != nil {
		return ""
	}
	for i := first; i <= last && i < first+nameScanLimit; i++ {
		var e raft.Log
		if err := logs.GetLog(i, &e); err != nil {
			log.Debug("scan stored log for the cluster's name", "index", i, "err", err)
			return ""
		}
		if e.Type == raft.LogCommand && len(e.Data) >= 2 && e.Data[0] == cmdCluster {
			if name := string(e.Data[1:]); gridmesh.ValidClusterName(name) == nil {
				return name
			}
		}
	}
	return ""
}

// Open starts this home's member of cfg.Neighborhood's group on tr
// (NewHostTransport for the home's libp2p host), whose peer must be
// cfg.LocalID. With cfg.Servers set it bootstraps the group from them
// when the stores hold no Raft state; without, a member with no state
// waits to be bootstrapped (Bootstrap) or added by a leader. Raft's
// goroutines run until Close. Every instance of raft the group runs
// (Open's, and each Reset's) gets a stream layer of its own on tr.
func Open(cfg Config, tr Transport, log *slog.Logger) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tr == nil || log == nil {
		return nil, errors.New("consensus: Open needs a transport and a logger")
	}
	if id := tr.LocalPeer(); id.String() != cfg.LocalID {
		return nil, fmt.Errorf("consensus: transport is peer %s, config says %s", id, cfg.LocalID)
	}
	log = log.With("component", "consensus", "neighborhood", string(cfg.Neighborhood))
	g := &Group{
		cfg:      cfg,
		tr:       tr,
		log:      log,
		rlog:     newRaftLogger(log, cfg.LogLevel),
		leaderCh: make(chan struct{}, 1),
		revokeCh: make(chan struct{}, 1),
	}
	in, err := g.start(true)
	if err != nil {
		return nil, err
	}
	g.cur.Store(in)
	g.listenBeacons()
	return g, nil
}

// start opens the stores and the transport and starts raft on them,
// bootstrapping from cfg.Servers if allowed and there is no state.
func (g *Group) start(bootstrap bool) (*instance, error) {
	cfg := g.cfg
	st, err := openStores(cfg.DataDir, g.rlog)
	if err != nil {
		return nil, err
	}
	f := &fsm{changed: g.revokeCh}
	layer := newStreamLayer(g.tr, cfg.Neighborhood, layerConfig{
		queueLen: acceptQueueLen,
		admit:    cfg.Admit,
		cluster: func() string {
			if name := f.clusterID(); name != "" {
				return name
			}
			return g.Joining()
		},
	}, g.log)
	trans := newRPCTransport(layer, maxPool, rpcTimeout, g.log)
	fail := func(err error) (*instance, error) {
		return nil, errors.Join(err, trans.Close(), st.close())
	}

	rc := g.raftConfig()

	existing, err := raft.HasExistingState(st.logs, st.stable, st.snaps)
	if err != nil {
		return fail(fmt.Errorf("consensus: read raft state: %w", err))
	}
	switch {
	case existing:
		g.log.Info("resuming raft group from stored state")
	case bootstrap && len(cfg.Servers) > 0:
		if err := raft.BootstrapCluster(rc, st.logs, st.stable, st.snaps, trans, configuration(cfg.Servers)); err != nil {
			return fail(fmt.Errorf("consensus: bootstrap: %w", err))
		}
		g.log.Info("bootstrapped raft group", "servers", len(cfg.Servers))
	default:
		g.log.Info("no raft state: waiting to found or join the neighborhood's group")
	}

	r, err := raft.NewRaft(rc, f, st.logs, st.stable, st.snaps, trans)
	if err != nil {
		return fail(fmt.Errorf("consensus: start raft: %w", err))
	}
	in := &instance{raft: r, fsm: f, layer: layer, trans: trans, stores: st, storedName: storedClusterName(st.logs, g.log)}
	g.observe(in)
	return in, nil
}

// raftConfig is raft's configuration from the group's.
func (g *Group) raftConfig() *raft.Config {
	cfg := g.cfg
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.LocalID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.MaxAppendEntries = maxAppendEntries
	rc.Logger = g.rlog
	return rc
}

// observe registers in's leader-change observer.
func (g *Group) observe(in *instance) {
	// The filter runs on raft's goroutine for every observation; it
	// signals leader changes itself and lets nothing through, so no
	// goroutine of ours has to drain an observation channel.
	in.observer = raft.NewObserver(nil, false, func(o *raft.Observation) bool {
		if _, ok := o.Data.(raft.LeaderObservation); ok {
			g.notifyLeaderChange()
		}
		return false
	})
	in.raft.RegisterObserver(in.observer)
	// A change may have come before the observer: leave one notice
	// pending so the caller reads the state at least once.
	g.notifyLeaderChange()
}

// stop shuts in down hard and closes its stores.
func (in *instance) stop() error {
	in.raft.DeregisterObserver(in.observer)
	// Shutdown's future closes the transport after raft's goroutines
	// have exited; the layer unprotects its peers' connections.
	err := in.raft.Shutdown().Error()
	return errors.Join(err, in.stores.close())
}

// r returns the running raft.
func (g *Group) r() *raft.Raft { return g.cur.Load().raft }

// configuration is the Raft configuration of servers.
func configuration(servers []Server) raft.Configuration {
	var conf raft.Configuration
	for _, s := range servers {
		suffrage := raft.Nonvoter
		if s.Voter {
			suffrage = raft.Voter
		}
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: suffrage,
			ID:       raft.ServerID(s.ID),
			Address:  raft.ServerAddress(s.ID),
		})
	}
	return conf
}

func (g *Group) notifyLeaderChange() {
	select {
	case g.leaderCh <- struct{}{}:
	default: // a notice is already pending
	}
}

// Commit commits a plan body (at most MaxPlanBytes, not empty) and returns
// its Epoch. It waits at most ApplyTimeout and no longer than ctx. On a
// member that is not the leader it returns *NotLeaderError. Any other
// error leaves the outcome unknown (the entry may still commit): the plan
// must not be published.
func (g *Group) Commit(ctx context.Context, body []byte) (gridmesh.Epoch, error) {
	if len(body) == 0 || len(body) > MaxPlanBytes {
		return gridmesh.Epoch{}, fmt.Errorf("consensus: plan of %d bytes, want 1 to %d", len(body), MaxPlanBytes)
	}
	if err := ctx.Err(); err != nil {
		return gridmesh.Epoch{}, fmt.Errorf("consensus: commit: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.ApplyTimeout)
	defer cancel()
	dl, _ := ctx.Deadline()
	enqueue := time.Until(dl)
	if enqueue <= 0 {
		return gridmesh.Epoch{}, fmt.Errorf("consensus: commit: %w", context.DeadlineExceeded)
	}
	f := g.r().Apply(planCommand(body), enqueue)
	if err := wait(ctx, f); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return gridmesh.Epoch{}, g.notLeader()
		}
		return gridmesh.Epoch{}, fmt.Errorf("consensus: commit: %w", err)
	}
	switch resp := f.Response().(type) {
	case gridmesh.Epoch:
		return resp, nil
	case error:
		return gridmesh.Epoch{}, fmt.Errorf("consensus: commit: %w", resp)
	default:
		return gridmesh.Epoch{}, fmt.Errorf("consensus: commit: unexpected FSM response %T", resp)
	}
}

// CommitAside commits an aside (at most MaxAsideBytes, not empty): a
// small body the next leader needs and no plan carries, of which the
// group keeps the newest (Aside). Errors as Commit's.
func (g *Group) CommitAside(ctx context.Context, body []byte) error {
	if len(body) == 0 || len(body) > MaxAsideBytes {
		return fmt.Errorf("consensus: aside of %d bytes, want 1 to %d", len(body), MaxAsideBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.ApplyTimeout)
	defer cancel()
	dl, _ := ctx.Deadline()
	enqueue := time.Until(dl)
	if enqueue <= 0 || ctx.Err() != nil {
		return fmt.Errorf("consensus: commit aside: %w", context.DeadlineExceeded)
	}
	f := g.r().Apply(append([]byte{cmdAside}, body...), enqueue)
	if err := wait(ctx, f); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return g.notLeader()
		}
		return fmt.Errorf("consensus: commit aside: %w", err)
	}
	if err, ok := f.Response().(error); ok {
		return fmt.Errorf("consensus: commit aside: %w", err)
	}
	return nil
}

// Aside returns a copy of the newest committed aside this member has
// applied, nil before any.
func (g *Group) Aside() []byte { return g.cur.Load().fsm.asideBody() }

// Leader returns the known leader's peer ID string ("" if none is known)
// and its term: Raft's own view (this member's current term), or a fresh
// beacon's (Beaconed) when it names a newer term, or the same term while
// Raft knows no leader in it, as on a home outside the configuration. A
// beacon never takes the term back. Both are read
// without a lock in common; a pair that straddles a change errs toward
// refusing a plan, never toward accepting a deposed leader's.
func (g *Group) Leader() (id string, term uint64) {
	_, lid := g.r().LeaderWithID()
	term = g.r().CurrentTerm()
	if bl, bt, _ := g.Beaconed(); bl != "" && (bt > term || (lid == "" && bt == term)) {
		return bl, bt
	}
	return string(lid), term
}

// IsLeader reports whether this member believes it leads. Only
// VerifyLeader proves it.
func (g *Group) IsLeader() bool { return g.r().State() == raft.Leader }

// VerifyLeader returns nil once a quorum confirms this member still leads,
// *NotLeaderError if it does not, or ctx's error.
func (g *Group) VerifyLeader(ctx context.Context) error {
	return g.leaderErr("verify leader", wait(ctx, g.r().VerifyLeader()))
}

// leaderErr returns nil for nil, *NotLeaderError for raft's errors that
// say this member does not (or no longer) lead, and err wrapped with what
// otherwise.
func (g *Group) leaderErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost):
		return g.notLeader()
	default:
		return fmt.Errorf("consensus: %s: %w", what, err)
	}
}

// LeaderChanges is signalled whenever this member observes a change of
// leader, including gaining or losing leadership itself. It holds at most
// one pending notice (later ones coalesce into it): on a notice, read
// Leader or IsLeader. One notice is pending after Open. It is never
// closed.
func (g *Group) LeaderChanges() <-chan struct{} { return g.leaderCh }

// Latest returns the newest committed plan's Epoch, a copy of its body
// (nil before any) and how many plans the group has committed, as this
// member's FSM has applied them.
func (g *Group) Latest() (gridmesh.Epoch, []byte, uint64) { return g.cur.Load().fsm.latest() }

// RefusedStreams returns how many Raft streams this member reset or
// would not open because Config.Admit refused the peer.
func (g *Group) RefusedStreams() uint64 { return g.cur.Load().layer.refused.Load() }

// Stats returns raft's statistics (state, term, indexes, …) for status
// pages, and malformed_rpcs: the inbound Raft streams closed on a
// request that did not decode.
func (g *Group) Stats() map[string]string {
	in := g.cur.Load()
	s := in.raft.Stats()
	s["malformed_rpcs"] = strconv.FormatUint(in.trans.malformed.Load(), 10)
	return s
}

// Close stops the member hard: raft shuts down without handing leadership
// over (TransferLeadership first, for a graceful stop), then the transport (every
// raft stream is reset and the stream handler removed) and the stores are
// closed. It waits for raft's goroutines. Later calls return the first
// call's result.
func (g *Group) Close() error {
	g.pause.stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		g.tr.Unlisten(BeaconProtocolID(g.cfg.Neighborhood))
		if err := g.cur.Load().stop(); err != nil {
			g.closeErr = fmt.Errorf("consensus: close: %w", err)
		}
	}
	return g.closeErr
}

// notLeader names the leader this member knows, if any.
func (g *Group) notLeader() error {
	id, _ := g.Leader()
	return &NotLeaderError{Leader: id}
}

// wait waits for f or ctx. The goroutine outlives a cancelled ctx only
// until raft resolves f, which it always does: on commit, on losing
// leadership, or on shutdown.
func wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
