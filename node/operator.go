package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// pemOperatorKey is the PEM block type of an operator's key file: the
// 32-byte ed25519 seed.
const pemOperatorKey = "GRIDMESH OPERATOR PRIVATE KEY"

// CreateOperatorKey writes a new grid operator key to path (mode 0600;
// never over an existing file) and returns its public key, which homes
// list in their home file's operator_keys (FormatOperatorKey).
func CreateOperatorKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: pemOperatorKey, Bytes: priv.Seed()}), 0o600); err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	return pub, nil
}

// LoadOperatorKey reads a key CreateOperatorKey wrote. A file its group
// or others may read is refused (ErrKeyExposed).
func LoadOperatorKey(path string) (ed25519.PrivateKey, error) {
	if err := checkPrivate(path); err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	if st.Size() > maxKeyFileSize {
		return nil, fmt.Errorf("operator key: %s: %d bytes, not a gridmesh key", path, st.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != pemOperatorKey || len(block.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("operator key: %s: no %q PEM block of %d bytes", path, pemOperatorKey, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(block.Bytes), nil
}

// FormatOperatorKey writes a public key as a home file's operator_keys
// take it: standard base64.
func FormatOperatorKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// ParseOperatorKey reads a public key FormatOperatorKey wrote.
func ParseOperatorKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("operator key %q: want %d bytes in standard base64", s, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// Operator is a grid operator's short-lived presence in a region: a host
// of its own, with a fresh identity, that signs signals with the
// operator's key and publishes them on the region topic. OpenOperator
// creates it, Run keeps its bootstrap peers dialed, Close ends it.
//
// Its host presents homes a pass (mesh.Config.OperatorPass) signed with
// the operator's key: homes with admission on that trust the key let it
// on the region topic, and nowhere else; others refuse it.
type Operator struct {
	m    *mesh.Mesh
	r    *mesh.Region
	priv ed25519.PrivateKey

	mu      sync.Mutex // guards lastSeq and aggs
	lastSeq uint64
	// aggs is the aggregates topic, joined at the first NextAggregate;
	// stopFind ends the search for leaders to hear aggregates from and
	// waits until it has ended.
	aggs     *mesh.Aggregates
	stopFind func()
}

// OperatorMeshConfig returns the mesh configuration an operator's host
// starts from: the mesh defaults, listening on every interface at a port
// the system picks. Set its Network, Bootstrap and Region.Name.
func OperatorMeshConfig() mesh.Config {
	cfg := mesh.DefaultConfig()
	cfg.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/0"}
	return cfg
}

// OpenOperator opens the operator's host on cfg (its Network and
// Bootstrap name the region and where to enter it) and joins the region.
// The host's own validator trusts priv's public key, so what it publishes
// is judged as the homes will judge it. opts go to mesh.Open (an
// in-memory network: mesh.WithTransport).
func OpenOperator(ctx context.Context, cfg mesh.Config, priv ed25519.PrivateKey, log *slog.Logger, opts ...mesh.Option) (*Operator, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("operator: no key")
	}
	cfg.Admission = nil
	cfg.Region.OperatorKeys = append([]ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, cfg.Region.OperatorKeys...)
	id, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("operator: host key: %w", err)
	}
	if cfg.OperatorPass, err = operatorPass(priv, id, cfg.RegionName(), time.Now()); err != nil {
		return nil, err
	}
	m, err := mesh.Open(ctx, cfg, id, log, opts...)
	if err != nil {
		return nil, fmt.Errorf("operator: %w", err)
	}
	r, err := m.JoinRegion()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("operator: %w", err), m.Close())
	}
	return &Operator{m: m, r: r, priv: priv}, nil
}

// Run dials the bootstrap peers and keeps them connected until ctx ends.
func (o *Operator) Run(ctx context.Context) error { return o.m.Run(ctx) }

// WaitForHomes returns once a home subscribed to the region is connected,
// or with ctx's error.
func (o *Operator) WaitForHomes(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for len(o.r.Peers()) == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("operator: no home of the region reached: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Homes is how many homes subscribed to the region are connected.
func (o *Operator) Homes() int { return len(o.r.Peers()) }

// Publish stamps s (version, region, a Seq above every one this key
// signed before: the Unix time in microseconds, or one more than the
// last), signs it and publishes it. It returns the signal as sent.
func (o *Operator) Publish(ctx context.Context, s gridmesh.Signal) (gridmesh.Signal, error) {
	o.mu.Lock()
	o.lastSeq = max(o.lastSeq+1, uint64(time.Now().UnixMicro()))
	s.Seq = o.lastSeq
	o.mu.Unlock()
	s.Version, s.Region = gridmesh.WireVersion, o.r.Name()
	if err := s.Sign(o.priv); err != nil {
		return s, fmt.Errorf("operator: %w", err)
	}
	if err := o.r.PublishSignal(ctx, s); err != nil {
		return s, fmt.Errorf("operator: %w", err)
	}
	return s, nil
}

// An operator that listens to aggregates looks for leaders every
// operatorFindPeriod while it has fewer than operatorLeaderPeers on the
// aggregates topic (mesh.Aggregates.KeepFinding).
const (
	operatorFindPeriod  = 5 * time.Second
	operatorLeaderPeers = 4
)

// NextAggregate returns the next neighborhood aggregate heard on the
// aggregates topic, or ctx's error: a bridge that reports what the region
// offers listens with it. The first call joins the topic (an operator
// that only publishes signals never receives aggregates).
func (o *Operator) NextAggregate(ctx context.Context) (gridmesh.Aggregate, error) {
	o.mu.Lock()
	if o.aggs == nil {
		a, err := o.r.JoinAggregates()
		if err != nil {
			o.mu.Unlock()
			return gridmesh.Aggregate{}, fmt.Errorf("operator: %w", err)
		}
		var find context.Context
		var cancel context.CancelFunc
		find, cancel = context.WithCancel(context.Background())
		found := make(chan struct{})
		go func() {
			defer close(found)
			a.KeepFinding(find, operatorFindPeriod, operatorLeaderPeers, operatorLeaderPeers, operatorLeaderPeers)
		}()
		o.stopFind = func() { cancel(); <-found }
		o.aggs = a
	}
	aggs := o.aggs
	o.mu.Unlock()
	for {
		msg, _, err := aggs.Next(ctx)
		if err != nil {
			return gridmesh.Aggregate{}, fmt.Errorf("operator: %w", err)
		}
		if msg.Aggregate != nil {
			return *msg.Aggregate, nil
		}
	}
}

// Close leaves the region and closes the host. Stop Run first.
func (o *Operator) Close() error {
	o.mu.Lock()
	aggs := o.aggs
	o.mu.Unlock()
	var err error
	if aggs != nil {
		o.stopFind()
		err = aggs.Close()
	}
	return errors.Join(err, o.r.Close(), o.m.Close())
}

// operatorPassTTL is how long an operator's pass is valid: its host lives
// for one publication, minutes at most; a day spares any clock skew.
const operatorPassTTL = 24 * time.Hour

// operatorPass signs, with the operator's key, a certificate for the
// region naming the host with identity id.
func operatorPass(priv ed25519.PrivateKey, id crypto.PrivKey, region string, now time.Time) (*gridmesh.Membership, error) {
	p, err := peer.IDFromPrivateKey(id)
	if err != nil {
		return nil, fmt.Errorf("operator: peer ID: %w", err)
	}
	pass := gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: gridmesh.NeighborhoodID(region), Peer: p.String(), Home: "operator",
		IssuedMs: now.UnixMilli(), ExpiresMs: now.Add(operatorPassTTL).UnixMilli(),
	}
	if err := pass.Sign(priv); err != nil {
		return nil, fmt.Errorf("operator: pass: %w", err)
	}
	return &pass, nil
}
