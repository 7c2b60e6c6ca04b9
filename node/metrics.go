package node

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/mesh"
)

// metrics are the home's Prometheus metrics, in a registry of its own:
// a testnet runs many homes in one process, and none of them touches the
// global registry. Almost every figure is read at scrape time from the
// counters the home keeps anyway (collector); the registry holds state
// of its own only for what nothing else records: the tick duration
// histogram and the signals received.
type metrics struct {
	reg *prometheus.Registry
	// tickDuration is observed by the device loop's goroutine.
	tickDuration prometheus.Histogram
	// signalsReceived is counted by the region receiver.
	signalsReceived prometheus.Counter
}

// tickDurationBuckets are the loop tick's duration buckets, in seconds.
// Why these: a tick reads and commands devices through their guards,
// which never block, so it takes tens of microseconds; the buckets
// reach up to the 100 ms period, past which the next tick is missed.
var tickDurationBuckets = []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3}

// newMetrics builds n's registry: the Go runtime's and the process's
// metrics, the home's own, and (once the host opens, mesh.WithRegisterer)
// go-libp2p's.
func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		tickDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gridmesh_loop_tick_duration_seconds",
			Help:    "Time one device loop tick took: read the devices, decide, command them.",
			Buckets: tickDurationBuckets,
		}),
		signalsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmesh_signals_received_total",
			Help: "Operator signals received from the region that passed validation.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.tickDuration,
		m.signalsReceived,
		&collector{n: n},
	)
	return m
}

// Metrics returns the home's Prometheus registry, which GET /metrics
// serves: for a process that serves many homes, or a test.
func (n *Node) Metrics() prometheus.Gatherer { return n.metrics.reg }

// metricsHandler serves the home's registry in Prometheus's text (or
// negotiated) format.
func (n *Node) metricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{n},
		ErrorHandling: promhttp.ContinueOnError,
		// Why 4: one Prometheus server scrapes a home; a few more
		// concurrent scrapes (a developer's curl) are served, a flood is
		// refused rather than queued behind the home's loop.
		MaxRequestsInFlight: 4,
	})
}

// promLogger hands promhttp's errors to the home's logger.
type promLogger struct{ n *Node }

func (l promLogger) Println(v ...any) { l.n.log.Warn("metrics", "err", fmt.Sprint(v...)) }

// tickDone is the device loop's per-tick hook: it observes how long the
// tick took since began and integrates the energy flows of the snapshot
// the tick recorded. Called from the device loop's goroutine only.
func (n *Node) tickDone(began time.Time) {
	n.metrics.tickDuration.Observe(time.Since(began).Seconds())
	n.energy.observe(n.stats.loop.Load(), n.deviceNow())
	n.energyDays.roll(n.energy.Totals(), n.deviceNow()) // dashboard.go: energy today
}

// collector reads the home's counters at scrape time.
type collector struct{ n *Node }

// Describe sends no descriptions: the collector is unchecked, its
// families vary with what the home has (devices, an open network), and
// every name is gridmesh_*, which nothing else registers.
func (*collector) Describe(chan<- *prometheus.Desc) {}

// Collect reads the home's counters now.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	e := emitter{ch}
	n := c.n
	e.gauge("gridmesh_home_info", "The home's identity; always 1.", 1,
		"home", string(n.cfg.Home), "neighborhood", string(n.cfg.Neighborhood), "peer_id", n.id.String())
	c.collectLoop(e)
	c.collectPlans(e)
	c.collectDevices(e)
	c.collectEnergy(e)
	c.collectNetwork(e)
	c.collectRefused(e)
	c.collectRegion(e)
	for name, r := range n.stats.restarts {
		e.counter("gridmesh_component_restarts_total", "Failures of a supervised part of the home after which it was restarted while the device loop ran on.",
			float64(r.Load()), "component", name)
	}
	e.counter("gridmesh_network_open_failures_total", "Failed attempts to open the home's host, Raft group and topics.", float64(n.stats.networkOpenFailures.Load()))
}

func (c *collector) collectLoop(e emitter) {
	s := &c.n.stats
	e.counter("gridmesh_loop_ticks_total", "Device loop ticks.", float64(s.loopTicks.Load()))
	e.counter("gridmesh_loop_ticks_missed_total", "Device loop ticks missed because the loop ran late.", float64(s.loopTicksMissed.Load()))
	e.counter("gridmesh_loop_ticks_unsettled_total", "Device loop ticks skipped because the readings predated the battery's last command.", float64(s.loopUnsettled.Load()))
	snap := s.loop.Load()
	if snap == nil {
		return
	}
	if snap.MeterOK {
		e.gauge("gridmesh_grid_power_watts", "Net import at the grid meter (negative: export).", float64(snap.Reading.NetW))
	}
	if snap.BatteryOK {
		e.gauge("gridmesh_battery_power_watts", "Battery power (positive: charging).", float64(snap.Reading.Battery.PowerW))
		e.gauge("gridmesh_battery_state_of_charge_ratio", "Battery state of charge, 0 to 1.", snap.Reading.Battery.SoC)
	}
}

func (c *collector) collectPlans(e emitter) {
	n := c.n
	s := &n.stats
	following, age := 0.0, 0.0
	var term, index uint64
	if snap := s.loop.Load(); snap != nil && snap.HasPlan {
		following = 1
		term, index = snap.Plan.Term, snap.Plan.Index
		age = max(0, n.now().Sub(snap.PlanIssued).Seconds())
	}
	e.gauge("gridmesh_plan_following", "1 while the home follows a valid plan of its neighborhood, 0 while it runs on its own.", following)
	e.gauge("gridmesh_plan_epoch_term", "Raft term of the plan followed (0: none).", float64(term))
	e.gauge("gridmesh_plan_epoch_index", "Raft log index of the plan followed (0: none).", float64(index))
	if following == 1 {
		e.gauge("gridmesh_plan_age_seconds", "Time since the leader issued the plan followed.", age)
	}
	e.counter("gridmesh_plans_accepted_total", "Plans the device loop took up.", float64(s.plansAccepted.Load()))
	for reason, v := range map[string]uint64{
		"stale": s.plansStale.Load(), "expired": s.plansExpired.Load(), "invalid": s.plansInvalid.Load(),
	} {
		e.counter("gridmesh_plans_refused_total", "Plans the device loop refused, by reason.", float64(v), "reason", reason)
	}
	e.counter("gridmesh_plans_dropped_total", "Plans dropped because the device loop's queue was full.", float64(s.plansDropped.Load()))
	e.counter("gridmesh_plans_committed_total", "Plans this home committed to Raft as leader.", float64(s.plansCommitted.Load()))
	e.counter("gridmesh_plans_fenced_total", "Plans committed but not published: the home could not confirm it still led.", float64(s.plansFenced.Load()))
	e.counter("gridmesh_beacons_sent_total", "Leader beacons this home sent to homes following plans outside the Raft configuration.", float64(s.beaconsSent.Load()))
	e.counter("gridmesh_dispatch_errors_total", "Failed dispatch rounds of this home as leader.", float64(s.dispatchErrors.Load()))
	e.counter("gridmesh_telemetry_publish_errors_total", "Telemetry reports that could not be published.", float64(s.publishErrors.Load()))
	e.counter("gridmesh_telemetry_reports_published_total", "Telemetry reports sent, to the leader on a stream or on the neighborhood topic.", float64(s.reportsSent.Load()))
	e.counter("gridmesh_telemetry_reports_direct_total", "Telemetry reports sent to the leader on a stream.", float64(s.reportsDirect.Load()))
	e.counter("gridmesh_telemetry_direct_errors_total", "Telemetry reports whose stream to the leader failed; each was published on the topic instead.", float64(s.directErrors.Load()))
	e.counter("gridmesh_telemetry_announce_windows_total", "Times a peer from outside the home's cluster connected and the home published every report on the topic for a while.", float64(s.announceWindows.Load()))
	e.counter("gridmesh_telemetry_reports_shed_total", "Telemetry reports replaced by a newer one before the gossip layer took them (overload).", float64(s.reportsShed.Load()))
	e.counter("gridmesh_telemetry_reports_withheld_total", "Looks at the reading whose change beyond the deadband waited for the heartbeat, the home thinning its telemetry (overload).", float64(s.reportsWithheld.Load()))
	e.counter("gridmesh_telemetry_thinned_seconds_total", "Time the home spent thinning its telemetry because its process was overloaded.", float64(s.thinnedNs.Load())/1e9)
	for r := range s.reportsDue {
		if why := control.ReportReason(r); why.Send() {
			e.counter("gridmesh_telemetry_reports_due_total", "Telemetry reports the home decided to send, by reason.", float64(s.reportsDue[r].Load()), "reason", why.String())
		}
	}
	e.gauge("gridmesh_telemetry_thinned", "1 while the home thins its telemetry because its process is overloaded.", bool01(s.thinned.Load()))
}

// breakerStates are the device breaker's states (guard.State.Breaker).
var breakerStates = [...]string{"closed", "half-open", "open"}

func (c *collector) collectDevices(e emitter) {
	missing := 0
	if m := c.n.deps.MissingKinds; m != nil {
		missing = len(m())
	}
	e.gauge("gridmesh_device_kinds_missing", "Kinds of device the home file lists that no device offers: the home runs without them.", float64(missing))
	d := c.n.stats.devices.Load()
	if d == nil {
		return
	}
	for _, dev := range d.all {
		st := dev.guard.State()
		for _, b := range breakerStates {
			e.gauge("gridmesh_device_breaker_state", "The device's circuit breaker: 1 for the state it is in.", bool01(st.Breaker == b), "device", st.Kind, "state", b)
		}
		e.gauge("gridmesh_device_available", "1 while the device hands out fresh readings.", bool01(st.Available), "device", st.Kind)
		e.counter("gridmesh_device_errors_total", "Calls to the device (reads and commands) that failed.", float64(st.Failures), "device", st.Kind)
		e.counter("gridmesh_device_calls_refused_total", "Calls the device's open breaker refused without calling it.", float64(st.Rejected), "device", st.Kind)
		e.counter("gridmesh_device_unavailable_ticks_total", "Device loop calls that found the device unavailable.", float64(dev.loopErrors.Load()), "device", st.Kind)
		if dev.writes != nil {
			e.counter("gridmesh_device_writes_total", "Write requests the driver sent to the device (every kind of one device counts the same requests).", float64(dev.writes.Writes()), "device", st.Kind)
		}
	}
}

func (c *collector) collectEnergy(e emitter) {
	m := c.n.energy
	t := m.Totals()
	for _, f := range []struct {
		name, help string
		j          float64
	}{
		{"grid_import", "Energy imported from the grid, at the meter.", t.GridImport},
		{"grid_export", "Energy exported to the grid, at the meter.", t.GridExport},
		{"battery_charge", "Energy into the battery.", t.BatteryCharge},
		{"battery_discharge", "Energy out of the battery.", t.BatteryDischarge},
		{"pv_production", "Energy the PV inverter produced.", t.PVProduction},
		{"load_served", "Household load energy served.", t.LoadServed},
		{"load_shed", "Non-critical household load energy shed.", t.LoadShed},
	} {
		e.counter("gridmesh_energy_"+f.name+"_joules_total", f.help+" Kept across restarts in the data directory.", f.j)
	}
	e.counter("gridmesh_energy_intervals_skipped_total", "Intervals between two loop readings left out of the energy totals: too long to integrate.", float64(m.gaps.Load()))
	e.counter("gridmesh_energy_state_resets_total", "Energy totals files that could not be read back at start; the totals restarted from zero.", float64(m.resets.Load()))
	e.counter("gridmesh_energy_state_save_errors_total", "Failed writes of the energy totals file.", float64(m.saveErrors.Load()))
}

func (c *collector) collectNetwork(e emitter) {
	n := c.n
	nw := n.up.Load()
	e.gauge("gridmesh_network_up", "1 while the home's host, Raft group and topics are open.", bool01(nw != nil))
	if nw == nil {
		e.gauge("gridmesh_leader", "1 while this home leads its neighborhood's Raft group.", 0)
		e.gauge("gridmesh_voter", "1 while this home votes in its neighborhood's Raft group.", 0)
		return
	}
	leader, term := nw.group.Leader()
	e.gauge("gridmesh_leader", "1 while this home leads its neighborhood's Raft group.", bool01(leader == n.id.String()))
	v := n.membership()
	e.gauge("gridmesh_voter", "1 while this home votes in its neighborhood's Raft group.", bool01(v.voter))
	e.gauge("gridmesh_raft_voters", "Voters in the Raft configuration, as this home knows it.", float64(v.voters))
	e.gauge("gridmesh_raft_members", "Members (voters and non-voters) in the Raft configuration, as this home knows it.", float64(v.members))
	e.gauge("gridmesh_raft_term", "This home's current Raft term.", float64(term))
	c.collectRaftStats(e, nw.group.Stats())

	e.gauge("gridmesh_peers_connected", "Peers the home's host has a connection to.", float64(nw.mesh.ConnectedPeers()))
	sc := nw.mesh.PeerScores()
	e.gauge("gridmesh_gossip_peer_score", "Lowest and highest gossip score this home gives a peer (0 with no peer).", sc.Min, "bound", "min")
	e.gauge("gridmesh_gossip_peer_score", "Lowest and highest gossip score this home gives a peer (0 with no peer).", sc.Max, "bound", "max")
	e.gauge("gridmesh_gossip_peers_graylisted", "Peers whose gossip score is below the graylist threshold: nothing they send is processed.", float64(len(sc.Graylisted)))
	for topic, t := range nw.mesh.Traffic() {
		e.counter("gridmesh_gossip_messages_received_total", "Gossip messages received from peers, each once, by kind of topic.", float64(t.Received), "topic", topic)
		e.counter("gridmesh_gossip_messages_duplicate_total", "Copies of gossip messages already seen, dropped, by kind of topic.", float64(t.Duplicates), "topic", topic)
		e.counter("gridmesh_gossip_messages_sent_total", "Gossip messages queued to peers (one per peer; own and forwarded), by kind of topic.", float64(t.Sent), "topic", topic)
		e.counter("gridmesh_gossip_messages_send_dropped_total", "Gossip messages dropped because a peer's outbound queue was full, by kind of topic.", float64(t.SendDropped), "topic", topic)
	}
	pt := nw.nbhd.PlanTraffic()
	e.counter("gridmesh_plans_from_beacons_total", "Plans this home had from its leader's beacons (outside the Raft configuration), since the network opened.", float64(pt.Received))
	e.counter("gridmesh_plans_from_beacons_dropped_total", "Plans from beacons dropped because the plan queue was full, since the network opened.", float64(pt.Dropped))
	e.gauge("gridmesh_plans_subscribed", "1 while this home subscribes to the neighborhood's plan topic (0: its plans come on the leader's beacons).", bool01(nw.nbhd.PlansSubscribed()))
	d := nw.nbhd.DirectTraffic()
	e.counter("gridmesh_telemetry_direct_received_total", "Telemetry reports received from members on streams, as leader, since the network opened.", float64(d.Received))
	e.counter("gridmesh_telemetry_direct_inbox_dropped_total", "Telemetry reports from streams dropped because the leader's inbox was full, since the network opened.", float64(d.InboxDropped))
	e.counter("gridmesh_telemetry_fed_total", "Telemetry reports passed on to followers of the leader's feed (an archiver), since the network opened.", float64(d.Fed))
	e.counter("gridmesh_telemetry_feed_dropped_total", "Telemetry reports a follower of the feed lost by falling behind, since the network opened.", float64(d.FeedDropped))
	c.collectWire(e, nw.mesh.Wire())
}

// collectWire emits the host's gossipsub RPCs and their bytes, all topics
// together, and the control items it sent (docs/SCALING.md's arithmetic,
// checked in the field).
func (c *collector) collectWire(e emitter, w mesh.WireTraffic) {
	e.counter("gridmesh_gossip_rpcs_total", "Gossipsub RPC frames, by direction.", float64(w.RPCsSent), "direction", "sent")
	e.counter("gridmesh_gossip_rpcs_total", "Gossipsub RPC frames, by direction.", float64(w.RPCsReceived), "direction", "received")
	e.counter("gridmesh_gossip_rpc_bytes_total", "Protobuf bytes of gossipsub RPC frames (messages, subscriptions, control), by direction.", float64(w.BytesSent), "direction", "sent")
	e.counter("gridmesh_gossip_rpc_bytes_total", "Protobuf bytes of gossipsub RPC frames (messages, subscriptions, control), by direction.", float64(w.BytesReceived), "direction", "received")
	const ctl = "Gossipsub control items sent: message IDs in IHAVE and IWANT, GRAFTs and PRUNEs."
	e.counter("gridmesh_gossip_control_sent_total", ctl, float64(w.IHaveIDs), "kind", "ihave")
	e.counter("gridmesh_gossip_control_sent_total", ctl, float64(w.IWantIDs), "kind", "iwant")
	e.counter("gridmesh_gossip_control_sent_total", ctl, float64(w.Grafts), "kind", "graft")
	e.counter("gridmesh_gossip_control_sent_total", ctl, float64(w.Prunes), "kind", "prune")
}

// collectRefused emits what the home's networks refused, summed over every
// network it opened (carried.go): the counters never go back when the
// network restarts.
func (c *collector) collectRefused(e emitter) {
	counts := c.n.carried.counts()
	e.counter("gridmesh_raft_streams_refused_total", "Raft streams refused because the peer was not admitted.", float64(counts.RefusedStreams))
	for key, v := range counts.Rejections {
		if detail, ok := strings.CutPrefix(key, mesh.ReasonAdmissionRefused+"/"); ok {
			e.counter("gridmesh_admission_refused_total", "Peers refused admission to the neighborhood, by reason.", float64(v), "reason", detail)
			continue
		}
		e.counter("gridmesh_gossip_messages_rejected_total", "Neighborhood gossip messages refused at validation, by reason.", float64(v), "reason", key)
	}
}

// collectRaftStats emits the figures of hashicorp/raft's Stats that the
// Group exposes: commit and applied index, and the time since the leader
// was last heard from ("never" before it ever was: not emitted).
func (c *collector) collectRaftStats(e emitter, stats map[string]string) {
	for key, name := range map[string]string{"commit_index": "gridmesh_raft_commit_index", "applied_index": "gridmesh_raft_applied_index"} {
		var v uint64
		if _, err := fmt.Sscan(stats[key], &v); err == nil {
			e.gauge(name, "This home's Raft "+strings.ReplaceAll(key, "_", " ")+".", float64(v))
		}
	}
	if d, err := time.ParseDuration(stats["last_contact"]); err == nil {
		e.gauge("gridmesh_raft_last_contact_seconds", "Time since this home last heard from its Raft leader (0 on the leader).", d.Seconds())
	}
	var malformed uint64
	if _, err := fmt.Sscan(stats["malformed_rpcs"], &malformed); err == nil {
		e.counter("gridmesh_raft_malformed_rpcs_total", "Inbound Raft streams closed on a request that did not decode.", float64(malformed))
	}
}

func (c *collector) collectRegion(e emitter) {
	for key, v := range c.n.carried.counts().Region {
		if reason, ok := strings.CutPrefix(key, "signal/"); ok {
			e.counter("gridmesh_signals_refused_total", "Operator signals refused at validation, by reason.", float64(v), "reason", reason)
		} else if reason, ok := strings.CutPrefix(key, "aggregate/"); ok {
			e.counter("gridmesh_aggregates_refused_total", "Neighborhood aggregates refused at validation, by reason.", float64(v), "reason", reason)
		} else {
			e.counter("gridmesh_region_messages_refused_total", "Region messages refused before they could be told apart (undecodable, invalid).", float64(v), "reason", key)
		}
	}
}

// emitter sends constant metrics, each described on the spot.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) gauge(name, help string, v float64, labels ...string) {
	e.emit(name, help, prometheus.GaugeValue, v, labels)
}

func (e emitter) counter(name, help string, v float64, labels ...string) {
	e.emit(name, help, prometheus.CounterValue, v, labels)
}

// emit sends one sample; labels are name, value pairs.
func (e emitter) emit(name, help string, t prometheus.ValueType, v float64, labels []string) {
	names := make([]string, 0, len(labels)/2)
	values := make([]string, 0, len(labels)/2)
	for i := 0; i+1 < len(labels); i += 2 {
		names, values = append(names, labels[i]), append(values, labels[i+1])
	}
	e.ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, names, nil), t, v, values...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
