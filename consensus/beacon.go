package consensus

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gridmesh/gridmesh"
)

// A leader beacon tells a home outside the Raft configuration who leads
// the neighborhood and in which term, so that it fences plans as a
// member does (the plan topic delivers only the current leader's plans)
// without the leader heartbeating it 1/HeartbeatTimeout·10 times a
// second. The leader sends one on a stream of its own protocol with
// every plan it publishes; the receiver takes the leader to be the
// stream's remote peer (authenticated by libp2p), never a name in the
// message. A beacon is believed from an admitted peer of the
// neighborhood, as a follower believes an AppendEntries: Raft trusts its
// members to speak Raft honestly; gossip liars are what fencing stops.

// beaconProtocolPrefix starts the beacon protocol of every neighborhood.
const beaconProtocolPrefix = "/gridmesh/raft-beacon/1.0.0/"

// beaconVersion is the wire version a beacon starts with: 1 without a
// plan, beaconPlanVersion with one. A home of a release before plans
// rode on beacons refuses version 2 (counted, BeaconsRefused): a
// neighborhood upgrades together, as it does for the Raft transport.
const (
	beaconVersion     = 1
	beaconPlanVersion = 2
)

// maxBeaconPlanBytes bounds the plan a beacon carries: a plan on the
// wire is at most package mesh's MaxMessageBytes, 64 KiB.
const maxBeaconPlanBytes = 64 << 10

// beaconHeader is the version byte, the term and the name's length.
const beaconHeader = 1 + 8 + 1

// BeaconRevocations is how many of the log's newest revocations a
// beacon carries. A home outside the Raft configuration never applies
// the log, so it learns of a revocation from its leader's beacons; why
// 16: a neighborhood revokes a home rarely (a stolen or retired box),
// so the newest sixteen hold every recent one, and a beacon stays under
// 3 KB even when full. A revocation carries its own signature: the
// receiver checks it against the neighborhood's key as it checks one
// from the log.
const BeaconRevocations = 16

// maxBeaconBytes is the longest beacon on the wire: the header, the
// name, the revocations' count and each revocation after its 16-bit
// length, and the plan after its 32-bit length.
const maxBeaconBytes = beaconHeader + gridmesh.MaxClusterLen + 1 + BeaconRevocations*(2+gridmesh.MaxRevocationBytes) + 4 + maxBeaconPlanBytes

// beaconTimeout bounds sending (dial included) or reading one beacon. Why
// 500 ms: a stream on a live connection opens and writes in a
// millisecond on a LAN; a home that takes longer gets the next plan's
// beacon a period later, and a sender never holds more than this.
const beaconTimeout = 500 * time.Millisecond

// BeaconMaxAge is how long a beacon names the leader after it arrived.
// Why 5 s: a leader beacons every plan period (1 s), so five periods
// survive a few lost beacons; after that the home knows no leader, as a
// follower does whose leader fell silent, and refuses plans until a
// beacon or a Raft leader names one.
const BeaconMaxAge = 5 * time.Second

// BeaconProtocolID is the libp2p protocol carrying neighborhood n's
// leader beacons.
func BeaconProtocolID(n gridmesh.NeighborhoodID) protocol.ID {
	return protocol.ID(beaconProtocolPrefix + string(n))
}

// Beacon is what a leader tells a home outside the configuration: the
// term it leads, the cluster it leads and the newest revocations of its
// log, each in gridmesh.Revocation's binary form (at most
// BeaconRevocations), and the plan it publishes with it, if any (the
// plan's wire form, opaque here: Config.BeaconPlan judges it). The
// leader is the peer that sent it.
type Beacon struct {
	Term        uint64
	Cluster     string
	Revocations [][]byte
	Plan        []byte
}

// encodeBeacon returns b on the wire.
func encodeBeacon(b Beacon) ([]byte, error) {
	if b.Term == 0 {
		return nil, errors.New("consensus: beacon of term 0")
	}
	if err := gridmesh.ValidClusterName(b.Cluster); err != nil {
		return nil, fmt.Errorf("consensus: beacon: %w", err)
	}
	if len(b.Revocations) > BeaconRevocations {
		return nil, fmt.Errorf("consensus: beacon of %d revocations, at most %d", len(b.Revocations), BeaconRevocations)
	}
	if len(b.Plan) > maxBeaconPlanBytes {
		return nil, fmt.Errorf("consensus: beacon: plan of %d bytes, at most %d", len(b.Plan), maxBeaconPlanBytes)
	}
	out := make([]byte, beaconHeader, beaconHeader+len(b.Cluster)+1)
	out[0] = beaconVersion
	if len(b.Plan) > 0 {
		out[0] = beaconPlanVersion
	}
	binary.BigEndian.PutUint64(out[1:9], b.Term)
	out[9] = byte(len(b.Cluster))
	out = append(out, b.Cluster...)
	out = append(out, byte(len(b.Revocations)))
	for _, r := range b.Revocations {
		if len(r) > gridmesh.MaxRevocationBytes {
			return nil, fmt.Errorf("consensus: beacon: revocation of %d bytes", len(r))
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(r)))
		out = append(out, r...)
	}
	if len(b.Plan) > 0 {
		out = binary.BigEndian.AppendUint32(out, uint32(len(b.Plan)))
		out = append(out, b.Plan...)
	}
	return out, nil
}

// decodeBeacon decodes one beacon: exactly the bytes encodeBeacon
// writes, nothing after them.
func decodeBeacon(b []byte) (Beacon, error) {
	if len(b) < beaconHeader {
		return Beacon{}, fmt.Errorf("consensus: beacon of %d bytes, want at least %d", len(b), beaconHeader)
	}
	version := b[0]
	if version != beaconVersion && version != beaconPlanVersion {
		return Beacon{}, fmt.Errorf("consensus: beacon version %d, want %d or %d", version, beaconVersion, beaconPlanVersion)
	}
	term := binary.BigEndian.Uint64(b[1:9])
	if term == 0 {
		return Beacon{}, errors.New("consensus: beacon of term 0")
	}
	n := int(b[9])
	if len(b) < beaconHeader+n+1 {
		return Beacon{}, fmt.Errorf("consensus: beacon of %d bytes, its name says at least %d", len(b), beaconHeader+n+1)
	}
	name := string(b[beaconHeader : beaconHeader+n])
	if err := gridmesh.ValidClusterName(name); err != nil {
		return Beacon{}, fmt.Errorf("consensus: beacon: %w", err)
	}
	revs, rest, err := decodeBeaconRevocations(b[beaconHeader+n:])
	if err != nil {
		return Beacon{}, err
	}
	plan, err := decodeBeaconPlan(version, rest)
	if err != nil {
		return Beacon{}, err
	}
	return Beacon{Term: term, Cluster: name, Revocations: revs, Plan: plan}, nil
}

// decodeBeaconPlan decodes what follows a beacon's revocations: nothing
// in version 1; in version 2 the plan's length (1 to maxBeaconPlanBytes)
// and exactly that many bytes.
func decodeBeaconPlan(version byte, b []byte) ([]byte, error) {
	if version == beaconVersion {
		if len(b) != 0 {
			return nil, fmt.Errorf("consensus: %d bytes after the beacon", len(b))
		}
		return nil, nil
	}
	if len(b) < 4 {
		return nil, errors.New("consensus: beacon cut short before its plan")
	}
	l := binary.BigEndian.Uint32(b)
	if l == 0 || l > maxBeaconPlanBytes || uint64(len(b)-4) != uint64(l) {
		return nil, fmt.Errorf("consensus: beacon plan of %d bytes, %d follow (at most %d)", l, len(b)-4, maxBeaconPlanBytes)
	}
	return b[4:], nil
}

// decodeBeaconRevocations decodes a beacon's revocations: the count,
// then each revocation after its length, each of a valid form; it
// returns what follows them.
func decodeBeaconRevocations(b []byte) ([][]byte, []byte, error) {
	count := int(b[0])
	if count > BeaconRevocations {
		return nil, nil, fmt.Errorf("consensus: beacon of %d revocations, at most %d", count, BeaconRevocations)
	}
	b = b[1:]
	var revs [][]byte
	for range count {
		if len(b) < 2 {
			return nil, nil, errors.New("consensus: beacon cut short in its revocations")
		}
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l {
			return nil, nil, fmt.Errorf("consensus: beacon revocation of %d bytes, %d left", l, len(b)-2)
		}
		r := b[2 : 2+l]
		if _, err := gridmesh.ParseRevocation(r); err != nil {
			return nil, nil, fmt.Errorf("consensus: beacon: %w", err)
		}
		revs = append(revs, r)
		b = b[2+l:]
	}
	return revs, b, nil
}

// beaconView is the newest beacon a home believes.
type beaconView struct {
	mu      sync.Mutex
	leader  string
	term    uint64
	cluster string
	at      time.Time
}

// take records a beacon from leader at now, unless an older term's:
// terms only move forward, and one term has one leader.
func (v *beaconView) take(leader string, b Beacon, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if b.Term < v.term || (b.Term == v.term && leader != v.leader && now.Sub(v.at) <= BeaconMaxAge) {
		return false
	}
	v.leader, v.term, v.cluster, v.at = leader, b.Term, b.Cluster, now
	return true
}

// fresh returns the beacon's leader, term and cluster while it is
// younger than BeaconMaxAge; "" and 0 otherwise.
func (v *beaconView) fresh(now time.Time) (leader string, term uint64, cluster string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.leader == "" || now.Sub(v.at) > BeaconMaxAge {
		return "", 0, ""
	}
	return v.leader, v.term, v.cluster
}

// listenBeacons takes beacons from admitted peers of the neighborhood.
func (g *Group) listenBeacons() {
	base := BeaconProtocolID(g.cfg.Neighborhood)
	g.tr.Listen(base, func(p protocol.ID) bool { return p == base }, g.handleBeacon)
}

// handleBeacon reads one beacon from s and records it when its sender is
// admitted and it names this home's cluster (or this home names none).
func (g *Group) handleBeacon(s net.Conn, from peer.ID) {
	defer s.Close()
	// A beacon may come on the connection it opened, before the
	// certificates are checked: wait for the admission as Raft does.
	ctx, cancel := context.WithTimeout(context.Background(), admitWait)
	ok := awaitAdmitted(ctx, g.cfg.Admit, from, nil)
	cancel()
	if !ok {
		g.beaconsRefused.Add(1)
		reset(s)
		return
	}
	_ = s.SetReadDeadline(time.Now().Add(beaconTimeout))
	raw, err := io.ReadAll(io.LimitReader(s, maxBeaconBytes+1))
	if err != nil {
		g.log.Debug("beacon read", "peer", from.String(), "err", err)
		return
	}
	b, err := decodeBeacon(raw)
	if err != nil {
		g.beaconsRefused.Add(1)
		g.log.Debug("beacon refused", "peer", from.String(), "err", err)
		return
	}
	if mine := g.ClusterID(); mine != "" && mine != b.Cluster {
		g.beaconsRefused.Add(1)
		g.log.Debug("beacon of another cluster refused", "peer", from.String(), "theirs", b.Cluster, "ours", mine)
		return
	}
	g.takeBeaconRevocations(b.Revocations)
	if !g.beacon.take(from.String(), b, time.Now()) {
		return
	}
	g.notifyLeaderChange()
	if len(b.Plan) > 0 && g.cfg.BeaconPlan != nil {
		g.cfg.BeaconPlan(from, b.Plan) // the beacon now names from the leader of b.Term
	}
}

// takeBeaconRevocations keeps the revocations a beacon carried that this
// home holds no revocation of yet, and tells RevocationsChanged. Their
// form was checked in decoding; their signatures are checked where they
// are enforced, as a revocation's from the log is.
func (g *Group) takeBeaconRevocations(raw [][]byte) {
	added := false
	g.beaconRevMu.Lock()
	for _, b := range raw {
		r, err := gridmesh.ParseRevocation(b)
		if err != nil || len(g.beaconRev) >= MaxRevocations {
			continue
		}
		key := r.Peer + "\x00" + string(r.Signature)
		if _, ok := g.beaconRev[key]; !ok {
			if g.beaconRev == nil {
				g.beaconRev = make(map[string]gridmesh.Revocation)
			}
			g.beaconRev[key] = r
			added = true
		}
	}
	g.beaconRevMu.Unlock()
	if added {
		select {
		case g.revokeCh <- struct{}{}:
		default: // one pending notice is enough
		}
	}
}

// newestRevocations returns the log's newest BeaconRevocations
// revocations in their binary form, for a beacon.
func (g *Group) newestRevocations() [][]byte {
	revs := g.cur.Load().fsm.revocations()
	slices.SortStableFunc(revs, func(a, b gridmesh.Revocation) int { return cmp.Compare(b.IssuedMs, a.IssuedMs) })
	revs = revs[:min(len(revs), BeaconRevocations)]
	out := make([][]byte, 0, len(revs))
	for _, r := range revs {
		if b, err := r.AppendBinary(nil); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// Beacon tells every peer in to (peer ID strings) that this member leads
// its cluster in its current term, in parallel, and returns once every
// beacon is sent or has failed, at most beaconTimeout later. plan, when
// not empty, is the plan (its wire form) the leader publishes now: each
// receiver hands it to its Config.BeaconPlan once it has taken the
// beacon, so a home outside the configuration has the plan from its
// leader on one stream, without the plan topic. It returns
// *NotLeaderError on a member that does not lead, and how many beacons
// were sent.
func (g *Group) Beacon(ctx context.Context, to []string, plan []byte) (int, error) {
	if !g.IsLeader() {
		return 0, g.notLeader()
	}
	raw, err := encodeBeacon(Beacon{Term: g.r().CurrentTerm(), Cluster: g.ClusterID(), Revocations: g.newestRevocations(), Plan: plan})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, beaconTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for _, id := range to {
		wg.Go(func() {
			if g.sendBeacon(ctx, id, raw) == nil {
				mu.Lock()
				sent++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return sent, nil
}

// sendBeacon sends raw to id on a stream of its own.
func (g *Group) sendBeacon(ctx context.Context, id string, raw []byte) error {
	p, err := peer.Decode(id)
	if err != nil {
		return err
	}
	if g.cfg.Admit != nil && !g.cfg.Admit(p) {
		// Connect first: the two present their certificates.
		if err := g.tr.Connect(ctx, p); err != nil {
			return fmt.Errorf("consensus: beacon: connect to %s: %w", id, err)
		}
		if !awaitAdmitted(ctx, g.cfg.Admit, p, nil) {
			return fmt.Errorf("consensus: beacon to %s: %w", id, ErrNotAdmitted)
		}
	}
	s, err := g.tr.OpenStream(ctx, p, BeaconProtocolID(g.cfg.Neighborhood))
	if err != nil {
		g.log.Debug("beacon stream", "peer", id, "err", err)
		return err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetWriteDeadline(dl)
	}
	if _, err := s.Write(raw); err != nil {
		reset(s)
		return err
	}
	return nil
}

// Beaconed returns the leader, term and cluster the newest beacon names
// while it is fresh (BeaconMaxAge); "" when none is.
func (g *Group) Beaconed() (leader string, term uint64, cluster string) {
	return g.beacon.fresh(time.Now())
}

// BeaconedWithin returns the cluster the newest beacon named if it came
// within d; "" otherwise. A home outside the configuration keeps asking
// for the cluster it last followed through a pause in beacons longer
// than BeaconMaxAge (a failover, a loaded leader): what other homes
// announce must not move it meanwhile.
func (g *Group) BeaconedWithin(d time.Duration) string {
	g.beacon.mu.Lock()
	defer g.beacon.mu.Unlock()
	if g.beacon.leader == "" || time.Since(g.beacon.at) > d {
		return ""
	}
	return g.beacon.cluster
}

// BeaconsRefused counts beacons refused: from a peer not admitted,
// undecodable, or of another cluster.
func (g *Group) BeaconsRefused() uint64 { return g.beaconsRefused.Load() }
