package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
)

// stats are the node's counters. Each atomic is written by the goroutine
// named beside it and read by anyone.
type stats struct {
	loop            atomic.Pointer[loopSnapshot] // device loop
	devices         atomic.Pointer[devices]      // device loop, once at start
	loopTicks       atomic.Uint64                // device loop
	loopTicksMissed atomic.Uint64                // device loop
	lastTick        atomic.Int64                 // device loop: wall clock of its newest tick, Unix ns (/healthz)
	loopUnsettled   atomic.Uint64                // device loop
	deviceErrors    atomic.Uint64                // device loop
	plansAccepted   atomic.Uint64                // device loop
	plansStale      atomic.Uint64                // device loop
	plansExpired    atomic.Uint64                // device loop
	plansInvalid    atomic.Uint64                // device loop
	plansDropped    atomic.Uint64                // plan receiver
	publishErrors   atomic.Uint64                // telemetry publisher
	reportsSent     atomic.Uint64                // telemetry publisher: reports sent (stream or topic)
	reportsDirect   atomic.Uint64                // telemetry publisher: of them, to the leader on a stream
	directErrors    atomic.Uint64                // telemetry publisher: streams to the leader that failed (the report went on the topic)
	announceWindows atomic.Uint64                // telemetry listener: times a home of another cluster, or none, connected (every report on the topic for a while)
	// Shedding (telemetry.go): the most a loop tick started late (ns,
	// raised by the device loop) and a publish took (ns, raised by the
	// telemetry sender) since the telemetry sampler last looked (it
	// resets both); then what the sampler shed: reports replaced in the
	// outbox before they went out, changes withheld while thinned, the
	// time spent thinned (ns) and whether it thins now.
	loopLate        atomic.Int64
	publishTook     atomic.Int64
	reportsShed     atomic.Uint64
	reportsWithheld atomic.Uint64
	thinnedNs       atomic.Uint64
	thinned         atomic.Bool
	// reportsDue counts the reports the sampler handed to the outbox, by
	// control.ReportReason (telemetry sampler).
	reportsDue [control.ReportWithheld + 1]atomic.Uint64
	// reportsWithoutReading counts reports sent while the meter or the
	// battery did not answer.
	reportsWithoutReading atomic.Uint64
	// reportsImplausible counts reports received whose powers were cut
	// to the plausible bound (telemetry receiver).
	reportsImplausible atomic.Uint64
	plansCommitted     atomic.Uint64 // dispatcher
	// asidesCommitted, asidesFailed and asidesRefused count the island
	// history summaries this leader committed, failed to commit, and
	// found in the log but could not decode (islandhistory.go).
	asidesCommitted, asidesFailed, asidesRefused atomic.Uint64 // dispatcher
	islandHistoryFromMs                          atomic.Int64  // dispatcher: the island history's oldest sample
	plansFenced                                  atomic.Uint64 // dispatcher
	beaconsSent                                  atomic.Uint64 // dispatcher (beacon.go)
	dispatchErrors                               atomic.Uint64 // dispatcher
	// Written by the formation goroutine (formation.go, autopilot.go).
	clustersFounded atomic.Uint64
	clusterMerges   atomic.Uint64
	membersAdded    atomic.Uint64
	membersRemoved  atomic.Uint64
	votersPromoted  atomic.Uint64
	votersRemoved   atomic.Uint64
	votersDemoted   atomic.Uint64
	pauses          atomic.Uint64 // Pause (pause.go)
	// networkOpenFailures is written by the network supervisor.
	networkOpenFailures atomic.Uint64
	// restarts counts, per component (supervise.go), the failures after
	// which it was restarted; each written by the component's
	// supervisor. The map itself is built in New and never changes.
	restarts map[string]*atomic.Uint64
}

// Status is a snapshot of what the home is doing, served as JSON.
type Status struct {
	Home         gridmesh.HomeID         `json:"home"`
	Neighborhood gridmesh.NeighborhoodID `json:"neighborhood"`
	PeerID       string                  `json:"peer_id"`
	Addrs        []string                `json:"addrs,omitempty"`
	// Voter is whether the home votes in its neighborhood's Raft group
	// now; Cluster names the group ("" before it is named or joined);
	// RaftVoters and RaftMembers count the group's configuration as
	// this home knows it.
	Voter   bool   `json:"voter"`
	Cluster string `json:"cluster,omitempty"`
	// Joining is, while the home names no cluster, the one it asks to
	// join.
	Joining     string `json:"joining,omitempty"`
	RaftVoters  int    `json:"raft_voters"`
	RaftMembers int    `json:"raft_members"`
	// Beaconed is whether a fresh leader beacon names the leader: the
	// home follows plans outside the Raft configuration.
	Beaconed bool   `json:"beaconed"`
	Leader   string `json:"leader,omitempty"`
	IsLeader bool   `json:"is_leader"`
	Term     uint64 `json:"term"`
	// IslandHistoryFromMs is, on a home that has led, the device time of
	// the oldest sample in its island's forecast history (Unix ms; 0:
	// none): a new leader that adopted its predecessor's summary reaches
	// back before its own term (islandhistory.go).
	IslandHistoryFromMs int64 `json:"island_history_from_ms,omitempty"`
	// Mode is "plan" while a valid plan is followed, else "autonomous".
	Mode        string          `json:"mode"`
	HasPlan     bool            `json:"has_plan"`
	EverPlanned bool            `json:"ever_planned"`
	PlanEpoch   gridmesh.Epoch  `json:"plan_epoch"`
	PlanTarget  gridmesh.Target `json:"plan_target"`
	LeaseLeftMs int64           `json:"lease_left_ms"`
	AimNetW     gridmesh.W      `json:"aim_net_w"`
	NetW        gridmesh.W      `json:"net_w"`
	BatteryW    gridmesh.W      `json:"battery_w"`
	SoC         float64         `json:"soc"`
	// BaseW is the home's base load (what it would import with its
	// battery idle), as it reports it to its neighborhood; and
	// BatteryPowerSource says where the battery's power in it came from:
	// "reported" by the battery, or "modelled" by the loop for a battery
	// that does not report its power.
	BaseW              gridmesh.W       `json:"base_w"`
	BatteryPowerSource string           `json:"battery_power_source"`
	Target             *gridmesh.Target `json:"target,omitempty"`
	// CommittedEpoch is the newest plan in this home's copy of the Raft log.
	CommittedEpoch gridmesh.Epoch    `json:"committed_epoch"`
	PlansInLog     uint64            `json:"plans_in_log"`
	Counters       map[string]uint64 `json:"counters"`
	// ComponentRestarts counts, per supervised component, the failures
	// after which it was restarted while the device loop ran on: "http"
	// (the status endpoint) and the network's components ("mesh",
	// "plan_receiver", "dispatcher", ...; a failure of one restarts the
	// whole network, counted under the one that failed).
	ComponentRestarts map[string]uint64 `json:"component_restarts"`
	Rejections        map[string]uint64 `json:"rejections"`
	// Devices are the home's devices by kind ("battery", "meter", "pv",
	// "charger", "heat_pump", "loads"), once the device loop has started.
	Devices map[string]DeviceStatus `json:"devices,omitempty"`
	// MissingKinds are the kinds of device the home file lists that no
	// device offers: the home runs without them.
	MissingKinds []MissingKind `json:"missing_kinds,omitempty"`
	// Region is the home's view of its region: signals in force, this
	// neighborhood's share, refused region messages (region.go).
	Region *RegionStatus `json:"region,omitempty"`
	// Feeder is the neighborhood's metered import as this home hears it,
	// once the network is up (feeder.go).
	Feeder *FeederStatus `json:"feeder,omitempty"`
	// Conns are the home's connections by kind (direct, relayed) and its
	// NAT traversal so far, once the network is up.
	Conns *mesh.ConnStats `json:"conns,omitempty"`
	// GossipScores summarizes the gossip scores this home gives its
	// peers (mesh.PeerScores), once the network is up.
	GossipScores *GossipScores `json:"gossip_scores,omitempty"`
	// Owner is the owner's settings and what they do now (owner.go).
	Owner OwnerStatus `json:"owner"`
}

// Status returns what the home is doing now. Before Ready, and while its
// network restarts, it holds only the home's identity, counters and
// devices.
func (n *Node) Status() Status {
	s := Status{
		Home:         n.cfg.Home,
		Neighborhood: n.cfg.Neighborhood,
		PeerID:       n.id.String(),
		Mode:         "autonomous",
		Counters:     n.counters(),
		Owner:        n.ownerStatus(),
	}
	s.ComponentRestarts = make(map[string]uint64, len(n.stats.restarts))
	for name, c := range n.stats.restarts {
		s.ComponentRestarts[name] = c.Load()
	}
	if t, ok := n.Target(); ok {
		s.Target = &t
	}
	if d := n.stats.devices.Load(); d != nil {
		s.Devices = d.statuses()
	}
	if m := n.deps.MissingKinds; m != nil {
		s.MissingKinds = m()
	}
	n.loopStatus(&s)
	// What the home's networks refused, summed over every network it
	// opened: still there while the network restarts and once it stopped.
	c := n.carried.counts()
	s.Rejections = c.Rejections
	s.Counters["raft_streams_refused"] = c.RefusedStreams
	s.Counters["raft_streams_other_cluster"] = c.OtherClusterStreams
	for k, v := range c.Degraded { // what admission did for slow peers
		s.Counters[k] = v
	}
	s.IslandHistoryFromMs = n.stats.islandHistoryFromMs.Load()
	if nw := n.up.Load(); nw != nil {
		n.networkStatus(&s, nw)
	}
	return s
}

// counters returns the home's counters by name.
func (n *Node) counters() map[string]uint64 {
	m := map[string]uint64{
		"loop_ticks":        n.stats.loopTicks.Load(),
		"loop_ticks_missed": n.stats.loopTicksMissed.Load(),
		// Ticks skipped because the readings predated the battery's
		// last command.
		"loop_ticks_unsettled":  n.stats.loopUnsettled.Load(),
		"device_errors":         n.stats.deviceErrors.Load(),
		"plans_accepted":        n.stats.plansAccepted.Load(),
		"plans_stale":           n.stats.plansStale.Load(),
		"plans_expired":         n.stats.plansExpired.Load(),
		"plans_invalid":         n.stats.plansInvalid.Load(),
		"telemetry_implausible": n.stats.reportsImplausible.Load(),
		"plans_dropped":         n.stats.plansDropped.Load(),
		"publish_errors":        n.stats.publishErrors.Load(),
		"reports_published":     n.stats.reportsSent.Load(),
		// Of them, sent to the leader on a stream; and streams that
		// failed, the report published on the topic instead.
		"reports_direct":          n.stats.reportsDirect.Load(),
		"telemetry_direct_errors": n.stats.directErrors.Load(),
		// Times a neighbor from outside this home's cluster connected,
		// and the home published every report on the topic for a while.
		"telemetry_announce_windows": n.stats.announceWindows.Load(),
		"reports_without_reading":    n.stats.reportsWithoutReading.Load(),
		// Telemetry shed under overload (telemetry.go).
		"telemetry_shed":              n.stats.reportsShed.Load(),
		"telemetry_withheld":          n.stats.reportsWithheld.Load(),
		"telemetry_thinned_ms":        n.stats.thinnedNs.Load() / uint64(time.Millisecond),
		"plans_committed":             n.stats.plansCommitted.Load(),
		"history_summaries_committed": n.stats.asidesCommitted.Load(),
		"history_summaries_failed":    n.stats.asidesFailed.Load(),
		"history_summaries_refused":   n.stats.asidesRefused.Load(),
		"dispatch_errors":             n.stats.dispatchErrors.Load(),
		"network_open_failures":       n.stats.networkOpenFailures.Load(),
		// Plans committed but not published: this home could not
		// confirm it still led.
		"plans_fenced": n.stats.plansFenced.Load(),
		// Leader beacons sent to homes outside the configuration.
		"beacons_sent": n.stats.beaconsSent.Load(),
		// Self-organization (formation.go, autopilot.go).
		"clusters_founded": n.stats.clustersFounded.Load(),
		"cluster_merges":   n.stats.clusterMerges.Load(),
		"members_added":    n.stats.membersAdded.Load(),
		"members_removed":  n.stats.membersRemoved.Load(),
		"voters_promoted":  n.stats.votersPromoted.Load(),
		"voters_removed":   n.stats.votersRemoved.Load(),
		"voters_demoted":   n.stats.votersDemoted.Load(),
		"pauses":           n.stats.pauses.Load(),
	}
	if nw := n.up.Load(); nw != nil {
		// Plans the leader's beacons brought (a home outside the
		// configuration), since the network last opened.
		pt := nw.nbhd.PlanTraffic()
		m["plans_from_beacons"], m["plans_from_beacons_dropped"] = pt.Received, pt.Dropped
		// What this home's telemetry streams carried as its
		// neighborhood's leader, since the network last opened.
		d := nw.nbhd.DirectTraffic()
		m["telemetry_direct_received"], m["telemetry_direct_inbox_dropped"] = d.Received, d.InboxDropped
		m["telemetry_fed"], m["telemetry_feed_dropped"] = d.Fed, d.FeedDropped
	}
	for r := range n.stats.reportsDue {
		if why := control.ReportReason(r); why.Send() {
			m["reports_due_"+why.String()] = n.stats.reportsDue[r].Load()
		}
	}
	return m
}

// loopStatus fills in what the device loop did on its newest tick.
func (n *Node) loopStatus(s *Status) {
	snap := n.stats.loop.Load()
	if snap == nil {
		return
	}
	s.Mode = snap.Command.Mode.String()
	s.HasPlan, s.EverPlanned = snap.HasPlan, snap.EverPlanned
	s.PlanEpoch, s.PlanTarget = snap.Plan, snap.Target
	if snap.HasPlan {
		s.LeaseLeftMs = max(0, snap.PlanExpires.Sub(n.now()).Milliseconds())
	}
	s.AimNetW, s.NetW = snap.Command.AimNetW, snap.Reading.NetW
	s.BatteryW, s.SoC = snap.Command.BatteryW, snap.Reading.Battery.SoC
	s.BaseW, s.BatteryPowerSource = snap.baseW(), snap.Base.Source.String()
}

// networkStatus fills in the home's view of its mesh, Raft group and
// region from the network that is up.
func (n *Node) networkStatus(s *Status, nw *network) {
	s.Addrs = nw.mesh.Addrs()
	s.Leader, s.Term = nw.group.Leader()
	s.IsLeader = s.Leader == n.id.String()
	s.CommittedEpoch, _, s.PlansInLog = nw.group.Latest()
	s.Region = n.regionStatus(nw)
	s.Feeder = n.feederStatus(n.now())
	conns := nw.mesh.ConnStats()
	s.Conns = &conns
	s.GossipScores = gossipScores(nw.mesh.PeerScores())
	beaconed, _, _ := nw.group.Beaconed()
	s.Beaconed = beaconed != ""
	s.Cluster = nw.group.ClusterID()
	if s.Cluster == "" {
		s.Joining = nw.group.Joining()
	}
	v := n.membership()
	s.Voter, s.RaftVoters, s.RaftMembers = v.voter, v.voters, v.members
}

// membershipView is this home's view of its Raft configuration, cached
// for membershipMaxAge: reading the configuration is a round trip
// through raft's main goroutine, which a testnet polling a hundred homes
// ten times a second would otherwise keep busy.
type membershipView struct {
	at              time.Time
	voter           bool
	voters, members int
	ids             map[string]bool // every member; nil if unknown
}

const membershipMaxAge = 250 * time.Millisecond

// membership returns the cached view, refreshed when stale; an empty
// view while the network is down.
func (n *Node) membership() membershipView {
	if v := n.members.Load(); v != nil && time.Since(v.at) < membershipMaxAge {
		return *v
	}
	nw := n.up.Load()
	if nw == nil {
		return membershipView{}
	}
	v := membershipView{at: time.Now()}
	if servers, _, err := nw.group.Members(); err == nil {
		v.members = len(servers)
		v.ids = make(map[string]bool, len(servers))
		for _, sv := range servers {
			v.ids[sv.ID] = true
			if sv.Voter {
				v.voters++
				v.voter = v.voter || sv.ID == n.id.String()
			}
		}
	}
	n.members.Store(&v)
	return v
}

// serveHTTP serves GET /status and GET /metrics on ln until ctx ends or
// ln fails, and closes ln.
func (n *Node) serveHTTP(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(n.Status()) // the client went away; nothing to do
	})
	mux.HandleFunc("GET /plans", n.servePlanLog)   // planlog.go
	mux.Handle("GET /metrics", n.metricsHandler()) // metrics.go
	mux.Handle("/", n.dash)                        // the page, GET /events (dashboard.go)
	n.ownerRoutes(mux)                             // ownerapi.go: /api/v1/settings, /healthz, /readyz
	n.httpListener.Store(&ln)
	defer n.httpListener.Store(nil)
	// Requests end with ctx: the page's streams do not hold Shutdown up.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		// The listener failed: drop the connections it accepted too.
		return errors.Join(fmt.Errorf("status endpoint: %w", err), srv.Close())
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		err := srv.Shutdown(shutdownCtx)
		<-errc
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("status endpoint shutdown: %w", err)
		}
		return ctx.Err()
	}
}

// HTTPAddr returns the address the status endpoint listens on, once it
// does ("" before, or when it is off).
func (n *Node) HTTPAddr() string {
	s, _ := n.httpAddr.Load().(string)
	return s
}

// GossipScores is the status's view of mesh.PeerScores.
type GossipScores struct {
	Peers int     `json:"peers"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	// Graylisted are the peers nothing is processed from, as peer IDs.
	Graylisted []string `json:"graylisted"`
}

func gossipScores(ps mesh.PeerScores) *GossipScores {
	g := &GossipScores{Peers: ps.Peers, Min: ps.Min, Max: ps.Max, Graylisted: make([]string, len(ps.Graylisted))}
	for i, p := range ps.Graylisted {
		g.Graylisted[i] = p.String()
	}
	return g
}
