package consensus

import (
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"

	"github.com/gridmesh/gridmesh"
)

// snapshotVersion is the version every snapshot carries. A member refuses
// any other rather than guessing at its meaning.
const snapshotVersion = 1

// maxSnapshotBytes bounds an encoded snapshot: one plan body, the
// revocations and the fixed fields. Why 256 bytes of slack: the version,
// epoch and count take at most ~40 bytes of CBOR, each revocation's CBOR
// framing at most 3; the rest is margin, not room for growth.
const maxSnapshotBytes = MaxPlanBytes + MaxRevocations*(gridmesh.MaxRevocationBytes+3) + MaxAsideBytes + 256

// errBadSnapshot is wrapped by every snapshot decoding error.
var errBadSnapshot = errors.New("consensus: bad snapshot")

// snapshotWire is a snapshot's CBOR form (integer keys, Core Deterministic
// Encoding).
type snapshotWire struct {
	Version   uint16         `cbor:"1,keyasint"`
	Epoch     gridmesh.Epoch `cbor:"2,keyasint"`
	Committed uint64         `cbor:"3,keyasint"`
	Body      []byte         `cbor:"4,keyasint"`
	Cluster   string         `cbor:"5,keyasint,omitempty"`
	// Revoked holds each revocation in its binary form
	// (gridmesh.Revocation.AppendBinary), sorted by peer.
	Revoked [][]byte `cbor:"6,keyasint,omitempty"`
	// Aside is the newest aside (absent before any, and in every
	// snapshot taken before asides).
	Aside []byte `cbor:"7,keyasint,omitempty"`
}

var (
	snapshotEnc = mustEncMode(cbor.CoreDetEncOptions())
	// snapshotDec refuses what a well-formed snapshot never holds:
	// duplicate or unknown keys, indefinite lengths, tags, deep nesting.
	snapshotDec = mustDecMode(cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  MaxRevocations,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	})
)

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err) // the options are constants: a failure is a programming error
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err) // the options are constants: a failure is a programming error
	}
	return m
}

// encodeSnapshot returns the CBOR form of s.
func encodeSnapshot(s planState) ([]byte, error) {
	var revoked [][]byte
	for _, r := range s.revoked {
		b, err := r.AppendBinary(nil)
		if err != nil {
			return nil, fmt.Errorf("encode snapshot: %w", err)
		}
		revoked = append(revoked, b)
	}
	return snapshotEnc.Marshal(snapshotWire{
		Revoked:   revoked,
		Version:   snapshotVersion,
		Epoch:     s.epoch,
		Committed: s.committed,
		Body:      s.body,
		Cluster:   s.cluster,
		Aside:     s.aside,
	})
}

// decodeSnapshot reads one snapshot of at most maxSnapshotBytes from r and
// checks that it describes a state the FSM could have reached.
func decodeSnapshot(r io.Reader) (planState, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSnapshotBytes+1))
	if err != nil {
		return planState{}, fmt.Errorf("%w: read: %w", errBadSnapshot, err)
	}
	if len(b) > maxSnapshotBytes {
		return planState{}, fmt.Errorf("%w: larger than %d bytes", errBadSnapshot, maxSnapshotBytes)
	}
	var w snapshotWire
	if err := snapshotDec.Unmarshal(b, &w); err != nil {
		return planState{}, fmt.Errorf("%w: %w", errBadSnapshot, err)
	}
	if w.Version != snapshotVersion {
		return planState{}, fmt.Errorf("%w: version %d, want %d", errBadSnapshot, w.Version, snapshotVersion)
	}
	if len(w.Cluster) > MaxClusterIDLen {
		return planState{}, fmt.Errorf("%w: cluster name of %d bytes", errBadSnapshot, len(w.Cluster))
	}
	revoked, err := decodeRevoked(w.Revoked)
	if err != nil {
		return planState{}, err
	}
	if len(w.Aside) > MaxAsideBytes {
		return planState{}, fmt.Errorf("%w: aside of %d bytes", errBadSnapshot, len(w.Aside))
	}
	if len(w.Aside) == 0 {
		w.Aside = nil
	}
	if w.Committed == 0 {
		if w.Epoch != (gridmesh.Epoch{}) || len(w.Body) != 0 {
			return planState{}, fmt.Errorf("%w: no plan committed but epoch %v and %d body bytes", errBadSnapshot, w.Epoch, len(w.Body))
		}
		return planState{cluster: w.Cluster, revoked: revoked, aside: w.Aside}, nil
	}
	// Every plan takes a log index of its own, so the count cannot pass
	// the newest plan's index.
	if w.Epoch.Term == 0 || w.Epoch.Index < w.Committed || len(w.Body) == 0 || len(w.Body) > MaxPlanBytes {
		return planState{}, fmt.Errorf("%w: %d plans, epoch %v, %d body bytes", errBadSnapshot, w.Committed, w.Epoch, len(w.Body))
	}
	return planState{epoch: w.Epoch, body: w.Body, committed: w.Committed, cluster: w.Cluster, revoked: revoked, aside: w.Aside}, nil
}

// decodeRevoked parses a snapshot's revocations, which must be sorted by
// peer, one per peer, as the FSM keeps them.
func decodeRevoked(bs [][]byte) ([]gridmesh.Revocation, error) {
	if len(bs) > MaxRevocations {
		return nil, fmt.Errorf("%w: %d revocations, at most %d", errBadSnapshot, len(bs), MaxRevocations)
	}
	var out []gridmesh.Revocation
	for i, b := range bs {
		r, err := gridmesh.ParseRevocation(b)
		if err != nil {
			return nil, fmt.Errorf("%w: revocation %d: %w", errBadSnapshot, i, err)
		}
		if i > 0 && out[i-1].Peer >= r.Peer {
			return nil, fmt.Errorf("%w: revocations not sorted by peer at %d", errBadSnapshot, i)
		}
		out = append(out, r)
	}
	return out, nil
}
