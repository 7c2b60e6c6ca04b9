package testnet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/mesh"
)

// The flood scenario's flooder can run as a process of its own
// (Config.FlooderCommand; `gridmesh testnet` runs `gridmesh attack-flood`):
// a flooder in the city's process shares the homes' Go scheduler and
// their two cores, and signing, checking its own signature on (gossipsub
// validates a message it publishes) and sending 5,000 messages a second
// to every home it reaches costs it more than rejecting them costs the
// homes. A compromised box floods from its own CPU; so does this one.

// flooderWaitDelay is how long an interrupted flooder process has to
// exit: closing a mesh host takes well under a second.
const flooderWaitDelay = 5 * time.Second

// FlooderSpec is everything a flooder needs: a genuine member's identity
// and certificate, and the homes to reach. It travels as JSON on the
// flooder process's standard input (the key never touches a file).
type FlooderSpec struct {
	Network          string                  `json:"network"`
	Neighborhood     gridmesh.NeighborhoodID `json:"neighborhood"`
	NeighborhoodKey  ed25519.PublicKey       `json:"neighborhood_key"`
	Certificate      gridmesh.Membership     `json:"certificate"`
	Key              []byte                  `json:"key"` // libp2p crypto.MarshalPrivateKey
	Peers            []string                `json:"peers"`
	Rate             int                     `json:"rate"` // reports a second
	For              time.Duration           `json:"for"`
	AdmissionTimeout time.Duration           `json:"admission_timeout"`
}

// FlooderResult is what a flooder did, written as JSON on its standard
// output.
type FlooderResult struct {
	Published uint64 `json:"published"`
	Connected int    `json:"connected"`
	// CPUSeconds is the CPU time the flooder process used, filled in by
	// the city from its process state.
	CPUSeconds float64 `json:"cpu_s"`
	// JoinMs is how long joining took (start, dials, admission), FloodMs
	// how long the flood ran.
	JoinMs  float64 `json:"join_ms"`
	FloodMs float64 `json:"flood_ms"`
}

// flooderSpec issues a flooder's identity and certificate in nb.
func (a *attacks) flooderSpec(nb *neighborhood) (FlooderSpec, peer.ID, error) {
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return FlooderSpec{}, "", err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return FlooderSpec{}, "", err
	}
	cert, err := issue(nb.priv, nb.id, id, "flooder", time.Now())
	if err != nil {
		return FlooderSpec{}, "", err
	}
	raw, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return FlooderSpec{}, "", err
	}
	spec := FlooderSpec{Network: a.r.cfg.Network, Neighborhood: nb.id, NeighborhoodKey: nb.key, Certificate: cert, Key: raw,
		Rate: floodRate, For: floodLength(a.r.cfg.Duration), AdmissionTimeout: a.r.cfg.AdmissionTimeout}
	for _, h := range nb.live() {
		spec.Peers = append(spec.Peers, h.node.P2PAddrs()...)
	}
	return spec, id, nil
}

// floodProcess runs the flooder of spec as Config.FlooderCommand and
// returns what it did.
func (a *attacks) floodProcess(ctx context.Context, spec FlooderSpec) (FlooderResult, error) {
	var res FlooderResult
	in, err := json.Marshal(spec)
	if err != nil {
		return res, err
	}
	argv := a.r.cfg.FlooderCommand
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// Cut short (the run ends), the flooder is interrupted and still
	// says what it did; killed only if it does not exit.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = flooderWaitDelay
	var out, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &stderr
	runErr := cmd.Run()
	// Interrupted, it still says what it did: read that first.
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return res, fmt.Errorf("flooder process: %w: %s", errors.Join(runErr, err), bytes.TrimSpace(stderr.Bytes()))
	}
	if st := cmd.ProcessState; st != nil {
		res.CPUSeconds = (st.UserTime() + st.SystemTime()).Seconds()
	}
	return res, nil
}

// maxFlooderSpec bounds a spec on a flooder's standard input: a key, a
// certificate and a neighborhood's addresses fit in far less.
const maxFlooderSpec = 1 << 20

// DecodeFlooderSpec reads a FlooderSpec as a flooder process takes it on
// its standard input: one JSON object of known fields, at most
// maxFlooderSpec bytes, nothing after it, with a positive rate and
// duration, a key that unmarshals and peers that are p2p multiaddrs.
func DecodeFlooderSpec(r io.Reader) (FlooderSpec, error) {
	var spec FlooderSpec
	dec := json.NewDecoder(io.LimitReader(r, maxFlooderSpec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return FlooderSpec{}, fmt.Errorf("flooder spec: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return FlooderSpec{}, errors.New("flooder spec: data after the object")
	}
	if _, _, err := spec.parse(); err != nil {
		return FlooderSpec{}, err
	}
	return spec, nil
}

// parse checks the spec's figures and returns its key and peers.
func (spec FlooderSpec) parse() (crypto.PrivKey, []peer.AddrInfo, error) {
	if spec.Rate <= 0 || spec.For <= 0 {
		return nil, nil, errors.New("flooder: rate and duration must be positive")
	}
	key, err := crypto.UnmarshalPrivateKey(spec.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("flooder: key: %w", err)
	}
	var peers []peer.AddrInfo
	for _, s := range spec.Peers {
		addr, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, nil, fmt.Errorf("flooder: peer %q: %w", s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(addr)
		if err != nil {
			return nil, nil, fmt.Errorf("flooder: peer %q: %w", s, err)
		}
		peers = append(peers, *info)
	}
	return key, peers, nil
}

// RunFlooder is a flooder process's work: join spec's neighborhood as the
// member its certificate admits, connect to its homes, publish spec.Rate
// valid-looking reports a second for spec.For, and say how many went
// out.
func RunFlooder(ctx context.Context, spec FlooderSpec, log *slog.Logger) (FlooderResult, error) {
	key, peers, err := spec.parse()
	if err != nil {
		return FlooderResult{}, err
	}
	began := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	m, n, err := joinAsMember(ctx, &wg, memberSpec{
		network: spec.Network, nbhd: spec.Neighborhood, nbKey: spec.NeighborhoodKey, cert: spec.Certificate,
		key: key, peers: peers, admissionTimeout: spec.AdmissionTimeout,
	}, &selfLeader{}, log)
	if err != nil {
		return FlooderResult{}, err
	}
	res := FlooderResult{JoinMs: ms(time.Since(began))}
	for _, p := range peers {
		if m.Host().Network().Connectedness(p.ID) == network.Connected {
			res.Connected++
		}
	}
	fctx, fcancel := context.WithTimeout(ctx, spec.For)
	defer fcancel()
	began = time.Now()
	res.Published = flood(fctx, n, spec.Neighborhood, spec.Rate)
	res.FloodMs = ms(time.Since(began))
	return res, nil
}

// memberSpec is what joinAsMember needs.
type memberSpec struct {
	network          string
	nbhd             gridmesh.NeighborhoodID
	nbKey            ed25519.PublicKey
	cert             gridmesh.Membership
	key              crypto.PrivKey
	peers            []peer.AddrInfo
	admissionTimeout time.Duration
	opts             []mesh.Option // the city's transport, in the city's process
}

// joinAsMember opens a mesh host with s's identity and certificate, runs
// it in wg until ctx ends, joins the neighborhood's topics and connects
// to s.peers; it returns once the homes' plan subscriptions reached it
// (it is admitted) or after twice the admission timeout.
func joinAsMember(ctx context.Context, wg *sync.WaitGroup, s memberSpec, v *selfLeader, log *slog.Logger) (*mesh.Mesh, *mesh.Neighborhood, error) {
	cfg := mesh.DefaultConfig()
	cfg.Network = s.network
	cfg.Admission = mesh.DefaultAdmission(s.nbKey, s.cert)
	cfg.Admission.Timeout = s.admissionTimeout
	m, err := mesh.Open(ctx, cfg, s.key, log, s.opts...)
	if err != nil {
		return nil, nil, err
	}
	wg.Go(func() { _ = m.Run(ctx) })
	context.AfterFunc(ctx, func() { _ = m.Close() })
	v.self = m.ID()
	n, err := m.JoinNeighborhood(s.nbhd, v, false)
	if err != nil {
		return nil, nil, err
	}
	for _, info := range s.peers {
		dctx, cancel := context.WithTimeout(ctx, memberDialTimeout)
		_ = m.Host().Connect(dctx, info)
		cancel()
	}
	deadline := time.Now().Add(2 * s.admissionTimeout)
	for len(n.PlanPeers()) == 0 && time.Now().Before(deadline) && backoff.Sleep(ctx, 50*time.Millisecond) {
	}
	return m, n, nil
}
