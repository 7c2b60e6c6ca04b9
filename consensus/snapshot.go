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

// maxSnapshotBytes bounds an encoded snapshot: one plan body plus the
// fixed fields. Why 256 bytes of slack: the version, epoch and count take
// at most ~40 bytes of CBOR; the rest is margin, not room for growth.
const maxSnapshotBytes = MaxPlanBytes + 256

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
		MaxArrayElements:  16,
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
	return snapshotEnc.Marshal(snapshotWire{
		Version:   snapshotVersion,
		Epoch:     s.epoch,
		Committed: s.committed,
		Body:      s.body,
		Cluster:   s.cluster,
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
	if w.Committed == 0 {
		if w.Epoch != (gridmesh.Epoch{}) || len(w.Body) != 0 {
			return planState{}, fmt.Errorf("%w: no plan committed but epoch %v and %d body bytes", errBadSnapshot, w.Epoch, len(w.Body))
		}
		return planState{cluster: w.Cluster}, nil
	}
	// Every plan takes a log index of its own, so the count cannot pass
	// the newest plan's index.
	if w.Epoch.Term == 0 || w.Epoch.Index < w.Committed || len(w.Body) == 0 || len(w.Body) > MaxPlanBytes {
		return planState{}, fmt.Errorf("%w: %d plans, epoch %v, %d body bytes", errBadSnapshot, w.Committed, w.Epoch, len(w.Body))
	}
	return planState{epoch: w.Epoch, body: w.Body, committed: w.Committed, cluster: w.Cluster}, nil
}
