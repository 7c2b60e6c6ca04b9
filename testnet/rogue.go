package testnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/mesh"
)

// The rogue scenario: at Duration/8 two hosts that belong to no
// neighborhood of the city dial into every home they are not connected
// to, and again every plan period for the rest of the run. One has no
// certificate at all; the other holds a genuine certificate of a
// neighborhood outside the city and presents it to every home as if it
// were one of theirs. Both publish plans on every neighborhood's plan
// topic (signed by themselves, in the neighborhood's current term,
// steering every home hard) and send every home a Raft RPC every plan
// period.
const (
	// rogueTargetSeq marks every rogue plan's target. Real targets count
	// up from 1, so no honest plan carries it: a home applying a plan
	// with it was steered by a non-member, and the recorder counts it.
	rogueTargetSeq = 1 << 62
	// rogueNeighborhood is the outsiders' neighborhood, which the second
	// rogue is a genuine member of.
	rogueNeighborhood gridmesh.NeighborhoodID = "outsiders"
	// rogueSetpointW is what a rogue plan asks of every home: an import
	// that would overload a feeder if its homes followed it.
	rogueSetpointW gridmesh.W = 20_000
	// rogueDialTimeout bounds one attempt to reach a home. Why 2 s: a
	// loopback handshake takes milliseconds; a home that refused the
	// rogue closes the connection at once.
	rogueDialTimeout = 2 * time.Second
	// rogueRPCTimeout bounds one Raft RPC. Why 3 s: a home holds a
	// stream from a peer it has not admitted for a second before it
	// resets it; an answer, the breach this measures, comes in
	// milliseconds.
	rogueRPCTimeout = 3 * time.Second
	// rogueBursts is how many plans a rogue publishes per plan period on
	// each topic: more often than the leader, so that were a door open
	// its plans would be the ones followed, and so that several land
	// inside the window before the uncertified rogue is refused.
	rogueBursts = 4
	// rogueOrganizeTimeout is how long after the scenarios' clock began
	// the rogues wait for every neighborhood to have a leader before the
	// report says they never began. Why 30 s: as long as a home may take
	// to listen at start (bootTimeout); a cold start of a few
	// neighborhoods takes 4-7 s on two loaded cores under the race
	// detector, and a city not organized in several times that has failed
	// to start, whatever Duration the run was given.
	rogueOrganizeTimeout = bootTimeout
)

// rogueAttack runs the rogue scenario. start and stop are called by the
// run's goroutine; between them the rogues' goroutines run, and their
// counters are read once stop returned.
type rogueAttack struct {
	c      *city
	cfg    Config
	start0 time.Time // the run's start, for the simulated clock
	t0     time.Time // when the scenarios' clock began
	log    *slog.Logger

	cancel context.CancelFunc // nil while not running
	wg     sync.WaitGroup
	rogues []*rogue
	// arrived is when the rogues first found every neighborhood led and
	// began (UnixNano; 0 until then), written by the first rogue to
	// begin and read by the run's goroutine.
	arrived atomic.Int64
}

// rogue is one host that is not a member. Its maps are written before its
// goroutine starts and only read after.
type rogue struct {
	name string
	// refusal is the detail every home must refuse it with.
	refusal string
	m       *mesh.Mesh
	cert    *gridmesh.Membership // presented to every home; nil for none
	nbhds   map[gridmesh.NeighborhoodID]*mesh.Neighborhood
	views   map[gridmesh.NeighborhoodID]*selfLeader
	trans   map[gridmesh.NeighborhoodID]*raft.NetworkTransport

	plans    atomic.Uint64 // rogue plans published
	rpcs     atomic.Uint64 // Raft RPCs attempted
	answered atomic.Uint64 // Raft RPCs a home answered
}

// rogueEvents returns the scenario's event: the rogues arrive at
// Duration/8. It sets r.rogue, and adds the scenario's verdict: the run
// does not end before every live home has refused both rogues, or that
// was due.
func (r *run) rogueEvents() []event {
	r.rogue = &rogueAttack{c: r.c, cfg: r.cfg, start0: r.started, t0: r.t0, log: r.log}
	r.verdicts = append(r.verdicts, r.rogue.verdict)
	return []event{{at: r.cfg.Duration / 8, name: "rogues arrive", do: func(ctx context.Context, _ time.Time) {
		if err := r.rogue.start(ctx); err != nil {
			r.errors = append(r.errors, fmt.Sprintf("rogue: %v", err))
		}
	}}}
}

// verdict reports whether every live home has counted its refusal of
// each rogue. It is due once every home has had its AdmissionTimeout
// after a rogue's first dial round, plus one dial attempt that failed
// (rogueDialTimeout) and the next round a plan period later: a home that
// has not refused a rogue by then did not enforce its admission, and the
// report says so. Until the rogues began (they wait for every
// neighborhood to have a leader: the scenario's clock starts then), it
// is due rogueOrganizeTimeout into the run, or at its scheduled end if
// that is later. Called by the run's goroutine.
func (a *rogueAttack) verdict() verdictState {
	v := verdictState{name: "rogue: admission verdicts"}
	at := a.arrived.Load()
	if at == 0 {
		v.due = a.t0.Add(rogueOrganizeTimeout)
		v.missing = "the rogues never began: no time when every neighborhood had a leader"
		return v
	}
	v.due = time.Unix(0, at).Add(rogueDialTimeout + a.cfg.Node.PlanPeriod + a.cfg.AdmissionTimeout)
	var missing []string
	for _, nb := range a.c.nbhds {
		for _, h := range nb.live() {
			rej := h.node.Status().Rejections
			for _, rg := range a.rogues {
				if rej[mesh.ReasonAdmissionRefused+"/"+rg.refusal] == 0 {
					missing = append(missing, fmt.Sprintf("%s by %s", rg.name, h.id))
				}
			}
		}
	}
	v.in = len(missing) == 0
	if !v.in {
		v.missing = "not refused: " + strings.Join(missing, ", ")
	}
	return v
}

// start creates both rogues and runs them until stop, or until ctx ends.
func (a *rogueAttack) start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	a.cancel = cancel
	// The outsiders' key: their homes would verify with its public half.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	// Each with the refusal every home must count for it.
	for _, who := range []struct{ name, refusal string }{
		{"rogue-uncertified", mesh.DetailNoCertificate},
		{"rogue-outsider", mesh.DetailWrongNeighborhood},
	} {
		name := who.name
		rg, err := a.newRogue(ctx, name)
		if err != nil {
			return err
		}
		rg.refusal = who.refusal
		a.rogues = append(a.rogues, rg)
		if name == "rogue-outsider" {
			cert, err := issue(priv, rogueNeighborhood, rg.m.ID(), gridmesh.HomeID(name), time.Now())
			if err != nil {
				return err
			}
			rg.cert = &cert
		}
		a.wg.Go(func() { a.attack(ctx, rg) })
	}
	return nil
}

// newRogue opens a mesh (admission off: it joins every neighborhood's
// topics) and a Raft transport per neighborhood.
func (a *rogueAttack) newRogue(ctx context.Context, name string) (*rogue, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	cfg := mesh.DefaultConfig()
	cfg.Network = a.cfg.Network
	m, err := mesh.Open(ctx, cfg, key, a.log.With("rogue", name), a.c.meshOpts()...)
	if err != nil {
		return nil, err
	}
	rg := &rogue{
		name:  name,
		m:     m,
		nbhds: make(map[gridmesh.NeighborhoodID]*mesh.Neighborhood),
		views: make(map[gridmesh.NeighborhoodID]*selfLeader),
		trans: make(map[gridmesh.NeighborhoodID]*raft.NetworkTransport),
	}
	for _, nb := range a.c.nbhds {
		v := &selfLeader{self: m.ID()}
		n, err := m.JoinNeighborhood(nb.id, v, false)
		if err != nil {
			rg.close()
			return nil, err
		}
		rg.views[nb.id], rg.nbhds[nb.id] = v, n
		rg.trans[nb.id] = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream:  newRogueLayer(ctx, m.Host(), consensus.ProtocolID(nb.id)),
			MaxPool: 1,
			Timeout: rogueRPCTimeout,
			Logger:  hclog.NewNullLogger(),
		})
	}
	return rg, nil
}

// attack runs one rogue until ctx ends: it publishes plans rogueBursts
// times a plan period, dials the homes it is not connected to once a plan
// period, and knocks on every home's Raft once a plan period.
func (a *rogueAttack) attack(ctx context.Context, rg *rogue) {
	period := a.cfg.Node.PlanPeriod
	// The neighborhoods organize themselves first: a rogue that came
	// before any leader would publish into no term and be refused
	// admission before it could try the validators.
	for ctx.Err() == nil && !a.everyNeighborhoodLed() {
		backoff.Sleep(ctx, period/rogueBursts)
	}
	if ctx.Err() == nil {
		a.arrived.CompareAndSwap(0, time.Now().UnixNano())
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for ctx.Err() == nil {
			a.knockRaft(rg)
			backoff.Sleep(ctx, period)
		}
	})
	for i := 0; ctx.Err() == nil; i++ {
		if i%rogueBursts == 0 {
			a.dialHomes(ctx, rg)
		}
		a.publishPlans(ctx, rg)
		backoff.Sleep(ctx, period/rogueBursts)
	}
}

// everyNeighborhoodLed reports whether every neighborhood has a leader.
func (a *rogueAttack) everyNeighborhoodLed() bool {
	for _, nb := range a.c.nbhds {
		if l, _ := leaderOf(nb); l == nil {
			return false
		}
	}
	return true
}

// dialHomes dials every live home the rogue is not connected to,
// presenting its certificate if it has one.
func (a *rogueAttack) dialHomes(ctx context.Context, rg *rogue) {
	h := rg.m.Host()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, nb := range a.c.nbhds {
		for _, hm := range nb.live() {
			info, err := addrInfo(hm)
			if err != nil || h.Network().Connectedness(info.ID) == network.Connected {
				continue
			}
			wg.Go(func() {
				dctx, cancel := context.WithTimeout(ctx, rogueDialTimeout)
				defer cancel()
				if h.Connect(dctx, info) != nil || rg.cert == nil {
					return
				}
				// Claim membership with another neighborhood's certificate.
				_ = mesh.Present(dctx, h, info.ID, nb.id, *rg.cert)
			})
		}
	}
}

// publishPlans publishes a rogue plan on every neighborhood that has a
// leader, in that leader's term.
func (a *rogueAttack) publishPlans(ctx context.Context, rg *rogue) {
	for _, nb := range a.c.nbhds {
		leader, term := leaderOf(nb)
		if leader == nil {
			continue
		}
		rg.views[nb.id].term.Store(term)
		if err := rg.nbhds[nb.id].PublishPlan(ctx, a.plan(nb, term)); err == nil {
			rg.plans.Add(1)
		}
	}
}

// knockRaft sends every live home a Raft vote request, all at once, and
// counts the answers.
func (a *rogueAttack) knockRaft(rg *rogue) {
	var wg sync.WaitGroup
	defer wg.Wait()
	self := []byte(rg.m.ID().String())
	for _, nb := range a.c.nbhds {
		trans := rg.trans[nb.id]
		for _, hm := range nb.live() {
			id := hm.node.PeerID().String()
			wg.Go(func() {
				rg.rpcs.Add(1)
				req := &raft.RequestVoteRequest{
					RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: self, Addr: self},
					// Term 0 is older than any the group is in: were the
					// door open, the home would answer and refuse the
					// vote, and the neighborhood would not notice.
					Term: 0,
				}
				var resp raft.RequestVoteResponse
				if trans.RequestVote(raft.ServerID(id), raft.ServerAddress(id), req, &resp) == nil {
					rg.answered.Add(1)
				}
			})
		}
	}
}

// plan is the rogue's plan for nb: the current term, an index far ahead,
// the longest lease, and every home steered to rogueSetpointW.
func (a *rogueAttack) plan(nb *neighborhood, term uint64) gridmesh.Plan {
	// The homes' simulated clock, to within the milliseconds between the
	// run's start and its first home's: the lease is ten minutes.
	now := a.cfg.SimStart.Add(time.Since(a.start0))
	p := gridmesh.Plan{
		Version: gridmesh.WireVersion, Neighborhood: nb.id,
		Epoch:      gridmesh.Epoch{Term: term, Index: 1 << 40},
		IssuedAtMs: now.UnixMilli(), LeaseMs: gridmesh.MaxLeaseMs,
		Target: gridmesh.Target{Seq: rogueTargetSeq, ImportW: rogueSetpointW * gridmesh.W(len(nb.homes))},
	}
	for _, h := range nb.homes { // sorted: home IDs are numbered in order
		p.Setpoints = append(p.Setpoints, gridmesh.Setpoint{Home: h.id, NetW: rogueSetpointW})
	}
	return p
}

// stop ends the rogues and waits for them; safe on a nil or stopped
// attack.
func (a *rogueAttack) stop() {
	if a == nil || a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	a.wg.Wait()
	for _, rg := range a.rogues {
		rg.close()
	}
}

// rogueResults is what the rogues did.
type rogueResults struct {
	plans, rpcs, answered uint64
}

// results sums the rogues' counters; call after stop. Zero without the
// scenario.
func (a *rogueAttack) results() rogueResults {
	var res rogueResults
	if a == nil {
		return res
	}
	for _, rg := range a.rogues {
		res.plans += rg.plans.Load()
		res.rpcs += rg.rpcs.Load()
		res.answered += rg.answered.Load()
	}
	return res
}

// addrInfo is where h listens.
func addrInfo(h *home) (peer.AddrInfo, error) {
	addrs := make([]ma.Multiaddr, 0, 2)
	for _, s := range h.node.P2PAddrs() {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return peer.AddrInfo{}, err
		}
		addrs = append(addrs, a)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(addrs...)
	if err != nil || len(infos) != 1 {
		return peer.AddrInfo{}, fmt.Errorf("home %s: addresses %v: %v", h.id, addrs, err)
	}
	return infos[0], nil
}

func (rg *rogue) close() {
	for _, t := range rg.trans {
		_ = t.Close()
	}
	for _, n := range rg.nbhds {
		_ = n.Close()
	}
	_ = rg.m.Close()
}

// selfLeader is a rogue's LeaderView: it leads, in the term it is told,
// unless follow is set (the replay scenario's recorder, attacks.go).
type selfLeader struct {
	self   peer.ID
	term   atomic.Uint64
	follow atomic.Pointer[func() (peer.ID, uint64)]
}

func (v *selfLeader) Leader() (peer.ID, uint64) {
	if f := v.follow.Load(); f != nil {
		return (*f)()
	}
	return v.self, v.term.Load()
}

// rogueLayer is the client half of a raft.StreamLayer on libp2p streams
// of one neighborhood's Raft protocol: the rogue only dials.
type rogueLayer struct {
	ctx   context.Context // the attack's: a dial ends with it
	h     host.Host
	proto protocol.ID
	done  chan struct{}
	once  sync.Once
}

func newRogueLayer(ctx context.Context, h host.Host, proto protocol.ID) *rogueLayer {
	return &rogueLayer{ctx: ctx, h: h, proto: proto, done: make(chan struct{})}
}

func (l *rogueLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	id, err := peer.Decode(string(address))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(l.ctx, timeout)
	defer cancel()
	s, err := l.h.NewStream(ctx, id, l.proto)
	if err != nil {
		return nil, err
	}
	return rogueConn{s}, nil
}

// Accept blocks until Close: nobody dials a rogue.
func (l *rogueLayer) Accept() (net.Conn, error) {
	<-l.done
	return nil, net.ErrClosed
}

func (l *rogueLayer) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *rogueLayer) Addr() net.Addr { return rogueAddr(l.h.ID()) }

// rogueConn is a libp2p stream seen as a net.Conn.
type rogueConn struct{ network.Stream }

func (c rogueConn) LocalAddr() net.Addr  { return rogueAddr(c.Conn().LocalPeer()) }
func (c rogueConn) RemoteAddr() net.Addr { return rogueAddr(c.Conn().RemotePeer()) }

type rogueAddr peer.ID

func (a rogueAddr) Network() string { return "libp2p" }
func (a rogueAddr) String() string  { return peer.ID(a).String() }

// reportAdmission fills the report's admission figures and, when the
// rogue scenario ran, says what went wrong with it.
func (r *run) reportAdmission(rep *Report) {
	for reason, n := range rep.RejectedMessages {
		if strings.HasPrefix(reason, mesh.ReasonAdmissionRefused+"/") {
			rep.AdmissionRefused += n
		}
	}
	rep.PlansFromNonMembersApplied = r.rec.nonMemberPlans()
	res := r.rogue.results()
	rep.RoguePlansPublished, rep.RogueRaftRPCs, rep.RogueRaftRPCsAnswered = res.plans, res.rpcs, res.answered
	if rep.PlansFromNonMembersApplied > 0 {
		r.errors = append(r.errors, fmt.Sprintf("rogue: %d plans from non-members applied", rep.PlansFromNonMembersApplied))
	}
	if res.answered > 0 {
		r.errors = append(r.errors, fmt.Sprintf("rogue: %d Raft RPCs from non-members answered", res.answered))
	}
	if r.rogue == nil {
		return
	}
	if rep.AdmissionRefused == 0 {
		r.errors = append(r.errors, "rogue: no peer was refused admission")
	}
	if res.plans == 0 || res.rpcs == 0 {
		r.errors = append(r.errors, fmt.Sprintf("rogue: published %d plans and sent %d Raft RPCs: nothing was tested", res.plans, res.rpcs))
	}
}
