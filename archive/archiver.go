package archive

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// Member is the archiver's place in one neighborhood: the identity it
// joins with and, with admission on, its certificate.
type Member struct {
	Neighborhood gridmesh.NeighborhoodID
	// Key is the libp2p identity the archiver uses in this neighborhood.
	// With admission on, each neighborhood admits one peer ID per
	// certificate, so each member has its own key.
	Key crypto.PrivKey
	// Admission, if set, is the neighborhood's key and the archiver's
	// certificate for Key's peer ID (mesh.DefaultAdmission).
	Admission *mesh.AdmissionConfig
	// Bootstrap are peers of this neighborhood to dial, beyond
	// Config.Bootstrap.
	Bootstrap []string
}

// Config configures an archiver. Start from DefaultConfig.
type Config struct {
	// Dir is the archive's root directory.
	Dir string
	// Members are the neighborhoods archived, at least one.
	Members []Member
	// Mesh is the template of every member's mesh configuration:
	// network, listen addresses, bootstrap peers common to all, region
	// (operator keys, to accept signals; neighborhood keys, to accept
	// aggregates with admission on). Its Admission is ignored: each
	// member's is used.
	Mesh mesh.Config
	// RollEvery is the window each file covers, by receive time; files
	// are committed when their window ends and on stop.
	RollEvery time.Duration
	// RowGroupRows is how many rows a file buffers before writing them as
	// a row group: the memory bound per open file.
	RowGroupRows int
}

// Defaults, and why.
const (
	// DefaultRollEvery: an hour per file keeps a day's partition at 24
	// files per archiver and neighborhood, and bounds what a crash loses.
	DefaultRollEvery = time.Hour
	// DefaultRowGroupRows: a telemetry row is ~150 bytes in memory, so an
	// open file holds at most ~1 MB, and a row group of 8192 rows is the
	// size engines read efficiently (a 200-home neighborhood reporting
	// every second fills one in 40 s).
	DefaultRowGroupRows = 8192
	// rollCheck is how often open files are checked for a window that
	// ended: a file is committed at most this late.
	rollCheck = time.Second
)

// DefaultConfig returns a configuration writing to dir with the default
// mesh, an hour per file.
func DefaultConfig(dir string) Config {
	return Config{Dir: dir, Mesh: mesh.DefaultConfig(), RollEvery: DefaultRollEvery, RowGroupRows: DefaultRowGroupRows}
}

// Validate checks every field.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("Dir: required"))
	}
	if len(c.Members) == 0 {
		errs = append(errs, errors.New("Members: at least one neighborhood"))
	}
	seen := map[gridmesh.NeighborhoodID]bool{}
	for i, m := range c.Members {
		if err := m.Neighborhood.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("member %d: %w", i, err))
		}
		if seen[m.Neighborhood] {
			errs = append(errs, fmt.Errorf("member %d: neighborhood %s twice", i, m.Neighborhood))
		}
		seen[m.Neighborhood] = true
		if m.Key == nil {
			errs = append(errs, fmt.Errorf("member %d: no key", i))
		}
		if m.Admission != nil && m.Admission.Own.Neighborhood != m.Neighborhood {
			errs = append(errs, fmt.Errorf("member %d: certificate for %s, not %s", i, m.Admission.Own.Neighborhood, m.Neighborhood))
		}
	}
	if c.RollEvery < time.Second || time.Hour%c.RollEvery != 0 && c.RollEvery%time.Hour != 0 {
		// Windows must nest in days, so a file never straddles a date.
		errs = append(errs, fmt.Errorf("RollEvery %v must be at least 1s and divide an hour, or be whole hours dividing a day", c.RollEvery))
	}
	if c.RollEvery > time.Hour && (24*time.Hour)%c.RollEvery != 0 {
		errs = append(errs, fmt.Errorf("RollEvery %v must divide a day", c.RollEvery))
	}
	if c.RowGroupRows < 1 {
		errs = append(errs, fmt.Errorf("RowGroupRows %d must be positive", c.RowGroupRows))
	}
	if err := c.Mesh.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("archive config: %w", err)
	}
	return nil
}

// Archiver is an admitted, read-only member of one or more
// neighborhoods: it subscribes to their telemetry and plans and to the
// region topic, follows each leader's feed of the reports its homes
// sent it on streams, and writes what it receives as Parquet files. It never
// publishes, never votes and never leads.
type Archiver struct {
	cfg   Config
	seen  reportSet
	log   *slog.Logger
	store *store
	book  *leaderBook
	now   func() time.Time
	ready chan struct{}
}

// New validates cfg. It starts nothing. log may be nil.
func New(cfg Config, log *slog.Logger) (*Archiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id, err := peerOf(cfg.Members[0].Key)
	if err != nil {
		return nil, err
	}
	tag := tagOf(id)
	return &Archiver{
		cfg:   cfg,
		log:   log.With("component", "archive", "tag", tag),
		store: newStore(cfg.Dir, tag, cfg.RollEvery, cfg.RowGroupRows),
		book:  newLeaderBook(),
		now:   time.Now,
		ready: make(chan struct{}),
	}, nil
}

// Tag is the archiver's name in its files (part-<tag>-NNNN.parquet).
func (a *Archiver) Tag() string { return a.store.tag }

// Ready is closed once every member's mesh listens and has joined its
// topics.
func (a *Archiver) Ready() <-chan struct{} { return a.ready }

// Stats returns what the archiver has committed so far.
func (a *Archiver) Stats() Stats { return a.store.snapshot() }

// Run removes this archiver's temporary files left by a crash, opens one
// mesh host per member, archives until ctx ends, then commits every open
// file and closes the hosts. It returns nil on a clean stop, or the
// first error that stopped it (a file that could not be written).
func (a *Archiver) Run(ctx context.Context) (err error) {
	if err := a.store.removeStale(); err != nil {
		return fmt.Errorf("archive: remove stale files: %w", err)
	}
	meshes, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer func() {
		for _, m := range meshes {
			err = errors.Join(err, m.Close())
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	abort := func(err error) error { cancel(); return errors.Join(err, g.Wait()) }
	for i, m := range meshes {
		g.Go(func() error { return m.Run(gctx) })
		nb, err := m.JoinNeighborhood(a.cfg.Members[i].Neighborhood, a.book.view(a.cfg.Members[i].Neighborhood), true)
		if err != nil {
			return abort(err)
		}
		defer nb.Close() // after the receivers stopped; Mesh.Close would too
		g.Go(func() error { return a.receiveTelemetry(gctx, m, nb) })
		g.Go(func() error { return a.receiveFeed(gctx, m, nb, a.book.view(a.cfg.Members[i].Neighborhood)) })
		g.Go(func() error { return a.receivePlans(gctx, nb) })
	}
	region, err := meshes[0].JoinRegion()
	if err != nil {
		return abort(err)
	}
	defer region.Close()
	aggs, err := region.JoinAggregates() // leaders only gossip aggregates: find some
	if err != nil {
		return abort(err)
	}
	defer aggs.Close()
	g.Go(func() error { return a.receiveRegion(gctx, region) })
	g.Go(func() error { return a.receiveRegion(gctx, aggs) })
	g.Go(func() error {
		aggs.KeepFinding(gctx, findLeadersPeriod, findLeadersPeers, findLeadersPeers, findLeadersPeers)
		return nil
	})
	g.Go(func() error { return a.rollEvery(gctx) })
	close(a.ready)
	a.log.Info("archiving", "dir", a.cfg.Dir, "neighborhoods", len(meshes))
	err = g.Wait()
	// Stop: every receiver has returned, so nothing adds rows; commit
	// what is open.
	return errors.Join(err, a.store.roll(a.now(), true))
}

// open opens one mesh host per member.
func (a *Archiver) open(ctx context.Context) ([]*mesh.Mesh, error) {
	keys := make(map[gridmesh.NeighborhoodID]ed25519.PublicKey)
	for _, m := range a.cfg.Members {
		if m.Admission != nil {
			keys[m.Neighborhood] = m.Admission.NeighborhoodKey
		}
	}
	var out []*mesh.Mesh
	for _, m := range a.cfg.Members {
		mc := a.cfg.Mesh
		mc.Admission = m.Admission
		mc.Bootstrap = append(append([]string(nil), mc.Bootstrap...), m.Bootstrap...)
		mc.Region.NeighborhoodKeys = mergeKeys(mc.Region.NeighborhoodKeys, keys)
		h, err := mesh.Open(ctx, mc, m.Key, a.log.With("nbhd", string(m.Neighborhood)))
		if err != nil {
			for _, o := range out {
				_ = o.Close() // the open error is the one to report
			}
			return nil, fmt.Errorf("archive: neighborhood %s: %w", m.Neighborhood, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// receiveTelemetry archives nb's reports until ctx ends.
func (a *Archiver) receiveTelemetry(ctx context.Context, m *mesh.Mesh, nb *mesh.Neighborhood) error {
	for {
		t, from, err := nb.NextTelemetry(ctx)
		if err != nil {
			return stopped(ctx, err)
		}
		if err := a.addTelemetry(m, t, from); err != nil {
			return err
		}
	}
}

// addTelemetry archives a report unless it was archived already, and
// learns where its home listens (the archiver dials each leader for its
// feed, and a leader is a home).
func (a *Archiver) addTelemetry(m *mesh.Mesh, t gridmesh.Telemetry, from peer.ID) error {
	m.AddPeerAddrs(from, t.Addrs)
	now := a.now()
	if !a.seen.first(reportKey{from, t.Seq, t.AtMs}, now) {
		return nil
	}
	return a.store.addTelemetry(telemetryRow(t, from, now))
}

// reportSet remembers the reports archived lately, so that one that
// came both ways is archived once: a home sends its newest reports again
// when its leader changes, and a leader replays its newest to a follower
// that comes back. mu guards the rest.
type reportSet struct {
	mu     sync.Mutex
	seen   map[reportKey]time.Time
	pruned time.Time
}

// reportKey names a report: its author's run numbers its reports, and
// a new run starts again at 1 (at a later time).
type reportKey struct {
	from peer.ID
	seq  uint64
	atMs int64
}

// reportMemory is how long a report is remembered: a report comes again
// within a home's resend window (seconds) or a leader's replay (a
// minute).
const reportMemory = 2 * time.Minute

// first reports whether k is new, and remembers it.
func (s *reportSet) first(k reportKey, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[k]; ok {
		return false
	}
	if s.seen == nil {
		s.seen = make(map[reportKey]time.Time)
	}
	s.seen[k] = now
	if now.Sub(s.pruned) > reportMemory {
		maps.DeleteFunc(s.seen, func(_ reportKey, at time.Time) bool { return now.Sub(at) > reportMemory })
		s.pruned = now
	}
	return true
}

// feedRetry is how long the archiver waits before it follows a
// neighborhood's leader's feed again, after the feed ended or while it
// knows no leader.
const feedRetry = time.Second

// receiveFeed archives the reports nb's homes sent their leader on
// streams (most of them: the topic carries the rest, which
// receiveTelemetry archives), following the feed of the leader the
// aggregates name, until ctx ends.
func (a *Archiver) receiveFeed(ctx context.Context, m *mesh.Mesh, nb *mesh.Neighborhood, leaders mesh.LeaderView) error {
	for {
		if leader, _ := leaders.Leader(); leader != "" {
			var stored error
			err := nb.FollowFeed(ctx, leader, func(t gridmesh.Telemetry, from peer.ID) error {
				stored = a.addTelemetry(m, t, from)
				return stored
			})
			if stored != nil {
				return stored
			}
			a.log.Debug("telemetry feed ended", "leader", leader, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(feedRetry):
		}
	}
}

// receivePlans archives nb's plans until ctx ends.
func (a *Archiver) receivePlans(ctx context.Context, nb *mesh.Neighborhood) error {
	for {
		p, from, err := nb.NextPlan(ctx)
		if err != nil {
			return stopped(ctx, err)
		}
		if err := a.store.addPlan(planRows(p, from, a.now())); err != nil {
			return err
		}
	}
}

// The archiver hears aggregates from the region's leaders (only they
// gossip them): it looks for some every findLeadersPeriod while it has
// fewer than findLeadersPeers on the aggregates topic.
const (
	findLeadersPeriod = 5 * time.Second
	findLeadersPeers  = 4
)

// receiveRegion archives signals (from the region topic) and aggregates
// (from the aggregates topic), and learns leaders from the aggregates,
// until ctx ends.
func (a *Archiver) receiveRegion(ctx context.Context, r interface {
	Next(context.Context) (mesh.RegionMessage, peer.ID, error)
}) error {
	for {
		m, from, err := r.Next(ctx)
		if err != nil {
			return stopped(ctx, err)
		}
		now := a.now()
		switch {
		case m.Signal != nil:
			err = a.store.addSignal(signalRow(*m.Signal, now))
		case m.Aggregate != nil:
			a.book.learn(m.Aggregate.Neighborhood, from, m.Aggregate.Epoch)
			err = a.store.addAggregate(aggregateRow(*m.Aggregate, from, now))
		}
		if err != nil {
			return err
		}
	}
}

// rollEvery commits files whose window ended, every rollCheck.
func (a *Archiver) rollEvery(ctx context.Context) error {
	t := time.NewTicker(rollCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := a.store.roll(a.now(), false); err != nil {
				return err
			}
		}
	}
}

// stopped turns the error that ended a receiver into Run's: none when
// the archiver is stopping.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, mesh.ErrClosed) {
		return nil
	}
	return fmt.Errorf("archive: receive: %w", err)
}

func mergeKeys(a, b map[gridmesh.NeighborhoodID]ed25519.PublicKey) map[gridmesh.NeighborhoodID]ed25519.PublicKey {
	out := make(map[gridmesh.NeighborhoodID]ed25519.PublicKey, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
