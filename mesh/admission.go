package mesh

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh"
)

// admitProtocolPrefix starts the protocol ID of every neighborhood's
// admission exchange.
const admitProtocolPrefix = "/gridmesh/admit/1.0.0/"

// AdmitProtocol is the libp2p protocol on which a home presents its
// membership certificate to the homes of neighborhood n. The
// neighborhood is part of the ID, so a home's identify record says which
// neighborhood it claims (see Mesh.Admitted).
func AdmitProtocol(n gridmesh.NeighborhoodID) protocol.ID {
	return protocol.ID(admitProtocolPrefix + string(n))
}

// Admission defaults, and why.
const (
	// DefaultAdmissionTimeout: the exchange is one stream and one
	// signature check, a few milliseconds even on a loaded 2-core
	// testnet under -race (measured: under 20 ms). It is also the longest
	// a stranger stays connected: 600 ms keeps that under a second,
	// counted from either side, and during it the stranger gets no
	// gossip stream and no Raft stream (see gate.go).
	DefaultAdmissionTimeout = 600 * time.Millisecond
	// defaultBlockFor: an hour of refused dials makes each of a rogue's
	// attempts cost it an hour, while a home refused for a certificate
	// since renewed, or a clock since fixed, gets back in without its
	// neighbors restarting.
	defaultBlockFor = time.Hour
	// noCertificateBlockFor is the longest a peer that presented nothing
	// in time is kept out, and noCertificateBlockFirst the first time:
	// the block doubles with each refusal in a row (the peer never
	// presented a valid certificate in between) from a second to half a
	// minute. A member starved of CPU past every allowance (patience.go)
	// is slow, not hostile: it is back a second later and presents then,
	// while a stranger that keeps redialing soon costs its target one
	// refused connection per 30 s.
	noCertificateBlockFirst = time.Second
	noCertificateBlockFor   = 30 * time.Second
	// maxBlocked bounds the refused peers remembered at once. A refusal
	// costs a stranger a connection and up to a Timeout, so filling this
	// takes thousands of identities; past it, a refused peer is still
	// disconnected but not remembered, and is refused again when it
	// returns.
	maxBlocked = 4096
)

// AdmissionConfig turns admission on: only peers presenting a valid
// certificate of this home's neighborhood are admitted, and only admitted
// peers publish on its topics and reach its Raft group. Start from
// DefaultAdmission.
type AdmissionConfig struct {
	// NeighborhoodKey is the neighborhood's membership public key.
	NeighborhoodKey ed25519.PublicKey
	// Own is this home's certificate: for the neighborhood, signed with
	// NeighborhoodKey's private half, naming this host's peer ID, and
	// valid now (Open checks). It is presented to every peer that
	// connects.
	Own gridmesh.Membership
	// Timeout is how long a newly connected peer has to present a valid
	// certificate (or to show it belongs to another neighborhood) before
	// it is refused.
	Timeout time.Duration
	// BlockFor is how long a refused peer is kept out: the connection
	// gater denies every connection to or from it meanwhile.
	BlockFor time.Duration
	// PreviousKey, when set, is the neighborhood's key before a
	// rotation: certificates it signed (this home's own included) are
	// accepted until PreviousUntil, the stated overlap, and a peer
	// admitted with one is admitted no longer than that. Homes given new
	// certificates within the overlap never lose a neighbor.
	PreviousKey   ed25519.PublicKey
	PreviousUntil time.Time
}

// keys returns the membership keys a certificate may be signed with at
// now, and until when a certificate signed by each admits: the current
// key without an end, the previous one until PreviousUntil.
func (c *AdmissionConfig) keys(now time.Time) []admissionKey {
	out := []admissionKey{{key: c.NeighborhoodKey}}
	if c.PreviousKey != nil && now.Before(c.PreviousUntil) {
		out = append(out, admissionKey{key: c.PreviousKey, until: c.PreviousUntil})
	}
	return out
}

// admissionKey is a membership key and the end of its overlap (zero for
// none).
type admissionKey struct {
	key   ed25519.PublicKey
	until time.Time
}

// Keys returns the membership keys accepted at now: the current one and,
// within the overlap, the previous one.
func (c *AdmissionConfig) Keys(now time.Time) []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, k := range c.keys(now) {
		out = append(out, k.key)
	}
	return out
}

// verify checks cert for neighborhood nbhd at now against every key
// accepted then, and returns until when it admits: its expiry, or the
// end of the overlap if only the previous key signed it. The error is
// the current key's.
func (c *AdmissionConfig) verify(cert gridmesh.Membership, nbhd gridmesh.NeighborhoodID, now time.Time) (time.Time, error) {
	var first error
	for _, k := range c.keys(now) {
		err := cert.Verify(k.key, nbhd, now)
		if err == nil {
			if k.until.IsZero() || cert.Expires().Before(k.until) {
				return cert.Expires(), nil
			}
			return k.until, nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, first
}

// DefaultAdmission returns an AdmissionConfig for the neighborhood whose
// membership key is key, presenting own, with the default timings.
func DefaultAdmission(key ed25519.PublicKey, own gridmesh.Membership) *AdmissionConfig {
	return &AdmissionConfig{NeighborhoodKey: key, Own: own, Timeout: DefaultAdmissionTimeout, BlockFor: defaultBlockFor}
}

// Validate checks the fields' shapes. Whether Own verifies against the
// key, now and for the host's peer ID, is checked by Open.
func (c *AdmissionConfig) Validate() error {
	var errs []error
	if len(c.NeighborhoodKey) != ed25519.PublicKeySize {
		errs = append(errs, fmt.Errorf("neighborhood key of %d bytes, want %d", len(c.NeighborhoodKey), ed25519.PublicKeySize))
	}
	if err := c.Own.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("own membership: %w", err))
	}
	if c.Timeout <= 0 || c.BlockFor <= 0 {
		errs = append(errs, fmt.Errorf("admission Timeout %v and BlockFor %v must be positive", c.Timeout, c.BlockFor))
	}
	if c.PreviousKey != nil && (len(c.PreviousKey) != ed25519.PublicKeySize || c.PreviousUntil.IsZero()) {
		errs = append(errs, fmt.Errorf("previous neighborhood key of %d bytes until %v: want %d bytes and an end to the overlap",
			len(c.PreviousKey), c.PreviousUntil, ed25519.PublicKeySize))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("admission: %w", err)
	}
	return nil
}

// check verifies Own for the host with peer ID self, at now.
func (c *AdmissionConfig) check(self peer.ID, now time.Time) error {
	return c.checkOwn(c.Own, self, now)
}

// checkOwn verifies own as this home's certificate: of the host with
// peer ID self, of the neighborhood Own names, valid at now.
func (c *AdmissionConfig) checkOwn(own gridmesh.Membership, self peer.ID, now time.Time) error {
	if own.Peer != self.String() {
		return fmt.Errorf("admission: own membership names peer %s, this host is %s", own.Peer, self)
	}
	if own.Neighborhood != c.Own.Neighborhood || own.Home != c.Own.Home {
		return fmt.Errorf("admission: own membership is home %s of %s, this home is %s of %s",
			own.Home, own.Neighborhood, c.Own.Home, c.Own.Neighborhood)
	}
	if _, err := c.verify(own, own.Neighborhood, now); err != nil {
		return fmt.Errorf("admission: own membership: %w", err)
	}
	return nil
}

// ownCert returns the certificate this home presents now.
func (a *admission) ownCert() gridmesh.Membership {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.own
}

// admission is a mesh's record of admitted and refused peers, and its
// connection gater. Its maps are guarded by mu.
type admission struct {
	cfg   AdmissionConfig
	nbhd  gridmesh.NeighborhoodID
	proto protocol.ID
	now   func() time.Time
	// region holds what checks the peers that are not members but may
	// share the region topic: other neighborhoods' keys, operator keys.
	region regionKeys

	mu sync.Mutex
	// own is the certificate this home presents: cfg.Own until
	// Mesh.RenewCertificate replaces it; guarded by mu.
	own      gridmesh.Membership
	admitted map[peer.ID]time.Time  // until the certificate expires; one per member
	guests   map[peer.ID]time.Time  // region peers (other neighborhoods' members, operators) until their certificate expires; at most maxBlocked
	blocked  map[peer.ID]blockEntry // until its block ends; at most maxBlocked
	// strikes counts each peer's no-certificate refusals in a row (reset
	// when it presents a valid certificate): its next block is longer;
	// at most maxBlocked, forgotten all at once past that.
	strikes map[peer.ID]int
	// presenting counts the admission streams of each peer being read
	// now: a peer presenting is not refused for presenting nothing.
	presenting map[peer.ID]int
	// lifted counts blocks for presenting nothing that a valid
	// certificate lifted.
	lifted uint64
	// changed is closed (and replaced) whenever a peer is admitted,
	// welcomed, blocked or revoked: it wakes the streams waiting for a
	// verdict (gate.go).
	changed chan struct{}
	// revoked are kept out for good (Mesh.Revoke): a revocation comes
	// signed from the neighborhood's log, which bounds them
	// (consensus.MaxRevocations).
	revoked map[peer.ID]struct{}
}

// regionKeys are the keys that let a peer that is no member of this
// home's neighborhood onto the region topic.
type regionKeys struct {
	name      gridmesh.NeighborhoodID // the region's name, which an operator's pass names as its neighborhood
	neighbors map[gridmesh.NeighborhoodID]ed25519.PublicKey
	operators []ed25519.PublicKey
}

var _ connmgr.ConnectionGater = (*admission)(nil)

func newAdmission(cfg AdmissionConfig, region regionKeys) *admission {
	return &admission{
		cfg:        cfg,
		nbhd:       cfg.Own.Neighborhood,
		proto:      AdmitProtocol(cfg.Own.Neighborhood),
		own:        cfg.Own,
		now:        time.Now,
		region:     region,
		admitted:   make(map[peer.ID]time.Time),
		guests:     make(map[peer.ID]time.Time),
		blocked:    make(map[peer.ID]blockEntry),
		strikes:    make(map[peer.ID]int),
		presenting: make(map[peer.ID]int),
		changed:    make(chan struct{}),
		revoked:    make(map[peer.ID]struct{}),
	}
}

// changes returns a channel closed at the next verdict on any peer.
func (a *admission) changes() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changed
}

// notifyLocked wakes the streams waiting for a verdict; a.mu is held.
func (a *admission) notifyLocked() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// blockEntry is one refused peer: until when, and whether only for
// presenting nothing in time (a valid certificate it presents after all
// lifts that block).
type blockEntry struct {
	until  time.Time
	noCert bool
}

// isGuest reports whether p is a region peer whose certificate (of
// another neighborhood, or an operator's pass) verified and has not
// expired since.
func (a *admission) isGuest(p peer.ID) bool {
	a.mu.Lock()
	until, ok := a.guests[p]
	a.mu.Unlock()
	return ok && a.now().Before(until)
}

// welcome records p as a region peer until until. Past maxBlocked guests,
// the expired ones are dropped; if none has, p is not recorded and gets
// no gossip: a region is not that large.
func (a *admission) welcome(p peer.ID, until time.Time) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, out := a.blocked[p]; out {
		return
	}
	if _, out := a.revoked[p]; out {
		return
	}
	if len(a.guests) >= maxBlocked {
		for q, u := range a.guests {
			if !now.Before(u) {
				delete(a.guests, q)
			}
		}
	}
	if len(a.guests) < maxBlocked {
		a.guests[p] = until
		a.notifyLocked()
	}
}

// isAdmitted reports whether p presented a certificate that has not
// expired since.
func (a *admission) isAdmitted(p peer.ID) bool {
	a.mu.Lock()
	until, ok := a.admitted[p]
	a.mu.Unlock()
	return ok && a.now().Before(until)
}

// admit records p as a member until until, unless it is revoked or
// blocked for a bad certificate. A block for presenting nothing in time
// is lifted: the peer was slow, and has now shown it is a member. Its
// strikes are forgotten.
func (a *admission) admit(p peer.ID, until time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, blocked := a.blocked[p]
	if blocked && b.noCert {
		delete(a.blocked, p)
		blocked = false
		a.lifted++
	}
	_, revoked := a.revoked[p]
	if !blocked && !revoked {
		a.admitted[p] = until
		delete(a.strikes, p)
		a.notifyLocked()
	}
}

// block forgets p's admission and keeps it out for d. It reports
// whether p was not already blocked, so that one refusal counts once.
func (a *admission) block(p peer.ID, d time.Duration) bool {
	return a.blockEntry(p, func() time.Duration { return d }, false)
}

// blockSilent keeps out p, which presented nothing in time: if it
// claimed membership (maybeMember), for noCertificateBlockFirst doubled
// for each such refusal in a row, up to noCertificateBlockFor; if not,
// for noCertificateBlockFor at once (never past BlockFor); see block.
func (a *admission) blockSilent(p peer.ID, claimed bool) bool {
	if !claimed {
		return a.blockEntry(p, func() time.Duration { return min(noCertificateBlockFor, a.cfg.BlockFor) }, true)
	}
	return a.blockEntry(p, func() time.Duration {
		if len(a.strikes) >= maxBlocked {
			clear(a.strikes)
		}
		k := a.strikes[p]
		a.strikes[p] = k + 1
		d := noCertificateBlockFor
		if k < 16 {
			d = min(d, noCertificateBlockFirst<<k)
		}
		return min(d, a.cfg.BlockFor)
	}, true)
}

// blockEntry blocks p for the duration d returns (called with a.mu held,
// only if p is not blocked already); see block.
func (a *admission) blockEntry(p peer.ID, d func() time.Duration, noCert bool) bool {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.admitted, p)
	delete(a.guests, p)
	if b, ok := a.blocked[p]; ok && now.Before(b.until) {
		return false
	}
	if len(a.blocked) >= maxBlocked {
		for q, b := range a.blocked {
			if !now.Before(b.until) {
				delete(a.blocked, q)
			}
		}
	}
	until := now.Add(d())
	if len(a.blocked) < maxBlocked {
		a.blocked[p] = blockEntry{until: until, noCert: noCert}
	}
	a.notifyLocked()
	return true
}

// isBlocked reports whether p is refused now: revoked, or blocked and
// its block not over.
func (a *admission) isBlocked(p peer.ID) bool {
	a.mu.Lock()
	b, ok := a.blocked[p]
	_, revoked := a.revoked[p]
	a.mu.Unlock()
	return revoked || ok && a.now().Before(b.until)
}

// reading notes that an admission stream of p is being read (delta 1)
// or was (delta -1).
func (a *admission) reading(p peer.ID, delta int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := a.presenting[p] + delta; n > 0 {
		a.presenting[p] = n
	} else {
		delete(a.presenting, p)
	}
}

// isPresenting reports whether an admission stream of p is being read.
func (a *admission) isPresenting(p peer.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.presenting[p] > 0
}

// revoke forgets p's admission and keeps it out for good. It reports
// whether p was not revoked already.
func (a *admission) revoke(p peer.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.admitted, p)
	delete(a.guests, p)
	if _, ok := a.revoked[p]; ok {
		return false
	}
	a.revoked[p] = struct{}{}
	a.notifyLocked()
	return true
}

// InterceptPeerDial denies dialing a refused peer.
func (a *admission) InterceptPeerDial(p peer.ID) bool { return !a.isBlocked(p) }

// InterceptAddrDial allows every address: InterceptPeerDial judged the
// peer.
func (a *admission) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

// InterceptAccept allows every inbound connection until its peer is
// known, at InterceptSecured.
func (a *admission) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured denies a connection, either way, with a refused peer.
func (a *admission) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !a.isBlocked(p)
}

// InterceptUpgraded allows every connection that got this far.
func (a *admission) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// Details of an admission refusal; the refusal is counted under
// ReasonAdmissionRefused + "/" + detail.
const (
	// DetailNoCertificate: the peer presented nothing within Timeout and
	// claims no other neighborhood.
	DetailNoCertificate = "no-certificate"
	// DetailUndecodable: what it presented is not a certificate.
	DetailUndecodable = "undecodable"
	// DetailInvalid: a certificate of the wrong version or shape.
	DetailInvalid = "invalid"
	// DetailWrongPeer: a certificate for another peer ID.
	DetailWrongPeer = "wrong-peer"
	// DetailWrongNeighborhood: a certificate for another neighborhood,
	// presented as one for this neighborhood.
	DetailWrongNeighborhood = "wrong-neighborhood"
	// DetailRevoked: the neighborhood revoked the peer (Mesh.Revoke).
	DetailRevoked = "revoked"
	// DetailExpired, DetailNotYetValid: a certificate outside its window.
	DetailExpired     = "expired"
	DetailNotYetValid = "not-yet-valid"
	// DetailBadSignature: not signed with the neighborhood's key.
	DetailBadSignature = "bad-signature"
	// DetailGraylisted: its gossip score fell below the graylist
	// threshold; disconnected and kept out for graylistBlockFor
	// (graylist.go).
	DetailGraylisted = "graylisted"
)

var admissionDetails = [...]string{
	DetailNoCertificate, DetailUndecodable, DetailInvalid, DetailWrongPeer, DetailGraylisted,
	DetailWrongNeighborhood, DetailExpired, DetailNotYetValid, DetailBadSignature, DetailRevoked,
}

// refusalDetail names why a certificate was refused.
func refusalDetail(err error) string {
	switch {
	case errors.Is(err, ErrUndecodable):
		return DetailUndecodable
	case errors.Is(err, errWrongPeer):
		return DetailWrongPeer
	case errors.Is(err, gridmesh.ErrWrongNeighborhood):
		return DetailWrongNeighborhood
	case errors.Is(err, gridmesh.ErrMembershipExpired):
		return DetailExpired
	case errors.Is(err, gridmesh.ErrMembershipNotYetValid):
		return DetailNotYetValid
	case errors.Is(err, gridmesh.ErrBadSignature):
		return DetailBadSignature
	}
	return DetailInvalid
}

// Keys of Mesh.Degraded.
const (
	// DegradedAdmittedLate: members admitted after the admission Timeout
	// had passed, in patience given to a peer slowed down (patience.go).
	DegradedAdmittedLate = "admission_late"
	// DegradedPresentRetries: presentations of this home's certificate
	// tried again after one failed.
	DegradedPresentRetries = "admission_present_retries"
	// DegradedBlocksLifted: blocks for presenting nothing in time lifted
	// by a valid certificate.
	DegradedBlocksLifted = "admission_blocks_lifted"
)

// Degraded counts what admission did for peers slowed down, by the keys
// above; nil with admission off.
func (m *Mesh) Degraded() map[string]uint64 {
	if m.adm == nil {
		return nil
	}
	m.adm.mu.Lock()
	lifted := m.adm.lifted
	m.adm.mu.Unlock()
	return map[string]uint64{
		DegradedAdmittedLate:   m.lateAdmissions.Load(),
		DegradedPresentRetries: m.presentRetries.Load(),
		DegradedBlocksLifted:   lifted,
	}
}

// Admitted reports whether peer p may publish on this home's
// neighborhood's topics and reach its Raft group: it is this host, or it
// presented a valid certificate of the neighborhood that has not expired
// since (even if it has disconnected meanwhile). With admission off every
// peer is admitted. It takes one mutex and a map lookup.
func (m *Mesh) Admitted(p peer.ID) bool {
	return m.adm == nil || p == m.ID() || m.adm.isAdmitted(p)
}

// Present sends certificate cert to peer p on neighborhood nbhd's
// admission protocol, connecting first if need be, and returns once it is
// written or ctx ends. Run presents this home's own certificate to every
// peer that connects; Present is exported for tools and tests. It says
// nothing of the verdict: a refused peer is disconnected.
func Present(ctx context.Context, h host.Host, p peer.ID, nbhd gridmesh.NeighborhoodID, cert gridmesh.Membership) error {
	return present(ctx, h, p, AdmitProtocol(nbhd), cert)
}

func present(ctx context.Context, h host.Host, p peer.ID, proto protocol.ID, cert gridmesh.Membership) error {
	b, err := EncodeMembership(cert)
	if err != nil {
		return fmt.Errorf("mesh: present: %w", err)
	}
	s, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return fmt.Errorf("mesh: present to %s: %w", p, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetWriteDeadline(dl) // a stream without deadlines just blocks longer
	}
	if _, err := s.Write(b); err != nil {
		_ = s.Reset()
		return fmt.Errorf("mesh: present to %s: %w", p, err)
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("mesh: present to %s: %w", p, err)
	}
	return nil
}

// OperatorAdmitProtocol is the libp2p protocol on which a grid
// operator's host presents its pass (Config.OperatorPass): a certificate
// for the region, signed with an operator key, that lets it on the region
// topic of homes with admission on, and nowhere else.
const OperatorAdmitProtocol = protocol.ID("/gridmesh/admit-operator/1.0.0")

// readCertificate reads the certificate a peer presents on s, within
// patienceMax (a presentation under way is the peer's progress: admitPeer
// waits for it). ok is false when the stream failed before its end: that
// is not judged here (if the peer presents nothing else, admitPeer
// refuses it at the deadline).
func (m *Mesh) readCertificate(s network.Stream) (cert gridmesh.Membership, err error, ok bool) {
	a := m.adm
	a.reading(s.Conn().RemotePeer(), 1)
	defer a.reading(s.Conn().RemotePeer(), -1)
	_ = s.SetReadDeadline(time.Now().Add(max(a.cfg.Timeout, patienceMax)))
	b, rerr := io.ReadAll(io.LimitReader(s, MaxMembershipBytes+1))
	if rerr != nil {
		_ = s.Reset()
		m.log.Debug("admission stream failed", "peer", s.Conn().RemotePeer().String(), "err", rerr)
		return cert, nil, false
	}
	_ = s.Close()
	cert, err = DecodeMembership(b)
	if err == nil && cert.Peer != s.Conn().RemotePeer().String() {
		err = fmt.Errorf("%w: certificate of %s names peer %s", errWrongPeer, cert.Home, cert.Peer)
	}
	return cert, err, true
}

// errWrongPeer: a certificate naming another peer than the one that
// presented it.
var errWrongPeer = errors.New("certificate of another peer")

// handleAdmit reads a peer's certificate, presented on the admission
// protocol of the neighborhood it claims, and admits the peer (its
// claim is this neighborhood), welcomes it to the region topic (another
// neighborhood whose key this home has, checked), or refuses it. A
// certificate of a neighborhood whose key this home lacks is noted
// nowhere: the peer stays connected, unadmitted, and gets no gossip.
func (m *Mesh) handleAdmit(s network.Stream) {
	a, p := m.adm, s.Conn().RemotePeer()
	cert, err, ok := m.readCertificate(s)
	if !ok {
		return
	}
	claim := gridmesh.NeighborhoodID(strings.TrimPrefix(string(s.Protocol()), admitProtocolPrefix))
	if err != nil {
		m.refuse(p, refusalDetail(err), err)
		return
	}
	if claim == a.nbhd {
		until, err := a.cfg.verify(cert, a.nbhd, a.now())
		if err != nil {
			m.refuse(p, refusalDetail(err), err)
			return
		}
		a.admit(p, until)
		m.log.Debug("peer admitted", "peer", p.String(), "home", string(cert.Home))
		return
	}
	key, known := a.region.neighbors[claim]
	if !known {
		m.log.Debug("certificate of a neighborhood without a known key", "peer", p.String(), "neighborhood", string(claim))
		return
	}
	if err := cert.Verify(key, claim, a.now()); err != nil {
		m.refuse(p, refusalDetail(err), err)
		return
	}
	a.welcome(p, cert.Expires())
	m.log.Debug("region peer welcomed", "peer", p.String(), "neighborhood", string(claim))
}

// handleOperator reads an operator's pass and welcomes its host to the
// region topic, or refuses it.
func (m *Mesh) handleOperator(s network.Stream) {
	a, p := m.adm, s.Conn().RemotePeer()
	cert, err, ok := m.readCertificate(s)
	if !ok {
		return
	}
	if err == nil {
		err = verifyAny(cert, a.region.operators, a.region.name, a.now())
	}
	if err != nil {
		m.refuse(p, refusalDetail(err), err)
		return
	}
	a.welcome(p, cert.Expires())
	m.log.Debug("operator welcomed", "peer", p.String())
}

// verifyAny verifies cert for nbhd at now against each key in turn,
// returning nil at the first that signed it.
func verifyAny(cert gridmesh.Membership, keys []ed25519.PublicKey, nbhd gridmesh.NeighborhoodID, now time.Time) error {
	err := fmt.Errorf("%w: no operator key configured", gridmesh.ErrBadSignature)
	for _, k := range keys {
		if err = cert.Verify(k, nbhd, now); err == nil || !errors.Is(err, gridmesh.ErrBadSignature) {
			return err
		}
	}
	return err
}

// admitPeer runs once per peer that connects: it waits until the peer is
// admitted, welcomed to the region, refused or gone, or until this
// home's patience with it runs out (awaitPresentation), and then refuses
// it if it is still connected and claims no other neighborhood. Peers of
// other neighborhoods stay connected (the region's gossip crosses them
// once their certificate is checked) but are never admitted here.
// presentOwn, beside it, presents this home's certificate.
func (m *Mesh) admitPeer(ctx context.Context, p peer.ID) {
	a := m.adm
	waited, ok := m.awaitPresentation(ctx, p)
	if !ok {
		return // Run is stopping
	}
	if m.settled(p) {
		if waited > a.cfg.Timeout && a.isAdmitted(p) {
			m.lateAdmissions.Add(1)
		}
		return
	}
	if other, ok := m.claimedNeighborhood(p); ok {
		m.log.Debug("peer of another neighborhood stays unadmitted", "peer", p.String(), "neighborhood", other)
		return
	}
	claimed, why := m.maybeMember(p), "claims no membership"
	if claimed {
		why = "patience ran out"
	}
	err := fmt.Errorf("nothing valid presented within %v (timeout %v; %s)", waited.Round(time.Millisecond), a.cfg.Timeout, why)
	m.counted(p, DetailNoCertificate, err, a.blockSilent(p, claimed))
}

// settled reports whether nothing is left to judge of p: it is
// disconnected, admitted, welcomed or refused.
func (m *Mesh) settled(p peer.ID) bool {
	a := m.adm
	return m.host.Network().Connectedness(p) != network.Connected || a.isAdmitted(p) || a.isGuest(p) || a.isBlocked(p)
}

// claimedNeighborhood returns the other neighborhood p's identify record
// says it belongs to, if any. The claim is unchecked (this home has no
// other neighborhood's key) and need not be: it buys the peer a
// connection, never admission.
func (m *Mesh) claimedNeighborhood(p peer.ID) (string, bool) {
	protos, err := m.host.Peerstore().GetProtocols(p)
	if err != nil {
		return "", false
	}
	for _, pr := range protos {
		if n, ok := strings.CutPrefix(string(pr), admitProtocolPrefix); ok && pr != m.adm.proto {
			return n, true
		}
	}
	return "", false
}

// refuse blocks p for BlockFor, counts and logs the refusal and closes
// p's connections. A peer already refused is not counted again. (One
// that presented nothing is blocked by admitPeer, blockSilent.)
func (m *Mesh) refuse(p peer.ID, detail string, why error) {
	m.counted(p, detail, why, m.adm.block(p, m.adm.cfg.BlockFor))
}

// counted counts and logs a refusal of p just blocked (first: it was
// not blocked already) and closes p's connections.
func (m *Mesh) counted(p peer.ID, detail string, why error, first bool) {
	if !first {
		return
	}
	m.rejections.add(ReasonAdmissionRefused + "/" + detail)
	m.log.Info("peer refused admission", "peer", p.String(), "reason", detail, "err", why)
	_ = m.host.Network().ClosePeer(p) // errors only for connections already closing
}
