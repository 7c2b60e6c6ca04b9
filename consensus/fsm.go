package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/gridmesh/gridmesh"
)

// MaxPlanBytes bounds one committed plan body. Why 1 MiB: a plan for
// gridmesh.MaxSetpoints homes is at most ~10,000 × 80 bytes (a 64-byte
// home ID, a float and CBOR framing) ≈ 800 KB, and a bound keeps one
// entry from stalling replication or swelling a snapshot.
const MaxPlanBytes = 1 << 20

// The first byte of a log entry names its kind, so kinds share the log
// without a format change; an FSM refuses kinds it does not know.
const (
	// cmdPlan commits a plan body.
	cmdPlan byte = 1
	// cmdCluster names the cluster: the first such entry wins, later ones
	// are no-ops. A group's first leader commits it (see NameCluster).
	cmdCluster byte = 2
	// cmdRevoke commits a gridmesh.Revocation in its binary form
	// (gridmesh.ParseRevocation): its peer is never admitted again. The
	// FSM checks the form, not the signature: it has no key, and every
	// home checks the signature before it acts on one (see Revoked).
	cmdRevoke byte = 3
	// cmdAside commits a leader's aside: a small body the next leader
	// needs and no plan carries (the island's forecast history summary,
	// control.EncodeSummary). The FSM keeps the newest.
	cmdAside byte = 4
)

// MaxAsideBytes bounds an aside. Why 16 KiB: the forecast history summary
// is at most control.MaxSummaryBytes (4,611 bytes); the rest is room,
// and a bound keeps a leader's aside from swelling the log and snapshot.
const MaxAsideBytes = 16 << 10

// MaxRevocations bounds the revocations a group holds. Why 1024: a
// neighborhood is one feeder, a few hundred homes at most, and a home is
// revoked once; the bound keeps a snapshot small (about 200 KB of
// revocations) should a neighborhood key fall into wrong hands.
const MaxRevocations = 1024

// MaxClusterIDLen bounds a cluster's name (gridmesh.ValidClusterName).
const MaxClusterIDLen = gridmesh.MaxClusterLen

// errBadCommand is returned by the FSM, as an entry's response, for an
// entry it does not understand. The state is left as it was, on every
// member alike, so they stay identical.
var errBadCommand = errors.New("consensus: unknown log entry")

// planCommand is the log entry that commits body.
func planCommand(body []byte) []byte {
	cmd := make([]byte, 1+len(body))
	cmd[0] = cmdPlan
	copy(cmd[1:], body)
	return cmd
}

// planState is what the FSM holds. A body is never modified once stored,
// so states may share it.
type planState struct {
	// epoch is the Raft term and index of the newest plan's entry.
	epoch gridmesh.Epoch
	// body is the newest plan, encoded by the caller; nil before any.
	body []byte
	// committed counts the plans committed since the group began.
	committed uint64
	// cluster is the group's name, "" until its first leader named it.
	cluster string
	// revoked are the committed revocations, sorted by peer, one per
	// peer (the first committed). Never modified in place: apply
	// replaces the slice.
	revoked []gridmesh.Revocation
	// aside is the newest committed aside; nil before any. Never
	// modified once stored.
	aside []byte
}

// apply returns the state after the entry, and the entry's response: its
// Epoch, or an error (and s unchanged) for an entry it does not know.
func (s planState) apply(l *raft.Log) (planState, any) {
	if len(l.Data) >= 2 && l.Data[0] == cmdCluster && gridmesh.ValidClusterName(string(l.Data[1:])) == nil {
		if s.cluster == "" {
			s.cluster = string(l.Data[1:])
		}
		return s, s.cluster
	}
	if len(l.Data) >= 1 && l.Data[0] == cmdRevoke {
		return s.revoke(l)
	}
	if len(l.Data) >= 2 && l.Data[0] == cmdAside && len(l.Data)-1 <= MaxAsideBytes {
		s.aside = bytes.Clone(l.Data[1:])
		return s, gridmesh.Epoch{Term: l.Term, Index: l.Index}
	}
	if len(l.Data) < 2 || l.Data[0] != cmdPlan || len(l.Data)-1 > MaxPlanBytes {
		return s, fmt.Errorf("%w at %d/%d", errBadCommand, l.Term, l.Index)
	}
	e := gridmesh.Epoch{Term: l.Term, Index: l.Index}
	return planState{epoch: e, body: bytes.Clone(l.Data[1:]), committed: s.committed + 1, cluster: s.cluster, revoked: s.revoked, aside: s.aside}, e
}

// revoke applies a revocation entry: its response is the revoked peer,
// or an error (and s unchanged) for a malformed entry or one past
// MaxRevocations. A peer revoked before stays so, under its first
// revocation.
func (s planState) revoke(l *raft.Log) (planState, any) {
	r, err := gridmesh.ParseRevocation(l.Data[1:])
	if err != nil {
		return s, fmt.Errorf("%w at %d/%d: %w", errBadCommand, l.Term, l.Index, err)
	}
	i, found := slices.BinarySearchFunc(s.revoked, r.Peer, func(e gridmesh.Revocation, p string) int { return strings.Compare(e.Peer, p) })
	if found {
		return s, r.Peer
	}
	if len(s.revoked) >= MaxRevocations {
		return s, fmt.Errorf("%w at %d/%d: more than %d revocations", errBadCommand, l.Term, l.Index, MaxRevocations)
	}
	s.revoked = slices.Insert(slices.Clip(s.revoked), i, r)
	return s, r.Peer
}

// revokeCommand is the log entry that commits revocation r.
func revokeCommand(r gridmesh.Revocation) ([]byte, error) {
	return r.AppendBinary([]byte{cmdRevoke})
}

// clusterCommand is the log entry that names the cluster id.
func clusterCommand(id string) []byte {
	return append([]byte{cmdCluster}, id...)
}

// fsm is the raft.FSM of a neighborhood group. Its mutex guards state:
// raft's FSM goroutine writes it (Apply, Restore) while Latest and
// Snapshot read it from others.
type fsm struct {
	mu    sync.Mutex
	state planState
	// changed (size 1, shared by every instance of a Group) gets a
	// notice when the revocations change; a pending notice is enough.
	changed chan struct{}
}

// notify posts a notice on changed if the revocations differ between
// before and after.
func (f *fsm) notify(before, after []gridmesh.Revocation) {
	if f.changed == nil || len(before) == len(after) {
		return // revocations are only ever added
	}
	select {
	case f.changed <- struct{}{}:
	default: // a notice is pending
	}
}

var _ raft.FSM = (*fsm)(nil)

// Apply implements raft.FSM. The response is the entry's gridmesh.Epoch,
// or an error for an entry the FSM does not understand.
func (f *fsm) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	next, resp := f.state.apply(l)
	f.notify(f.state.revoked, next.revoked)
	f.state = next
	return resp
}

// Snapshot implements raft.FSM: it captures the state; Persist encodes it
// on raft's snapshot goroutine.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fsmSnapshot{state: f.state}, nil
}

// Restore implements raft.FSM: it replaces the state with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	s, err := decodeSnapshot(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changed != nil && len(s.revoked) > 0 {
		select {
		case f.changed <- struct{}{}:
		default:
		}
	}
	f.state = s
	return nil
}

// latest returns the newest plan's epoch, a copy of its body and the
// count of plans committed.
func (f *fsm) latest() (gridmesh.Epoch, []byte, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.epoch, bytes.Clone(f.state.body), f.state.committed
}

// asideBody returns a copy of the newest aside, nil before any.
func (f *fsm) asideBody() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.state.aside)
}

// clusterID returns the cluster's name, "" before it was named.
func (f *fsm) clusterID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.cluster
}

// revocations returns the committed revocations, sorted by peer.
func (f *fsm) revocations() []gridmesh.Revocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.state.revoked)
}

// fsmSnapshot is a captured state waiting to be persisted.
type fsmSnapshot struct{ state planState }

// Persist implements raft.FSMSnapshot.
func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := encodeSnapshot(s.state)
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot; there is nothing to release.
func (fsmSnapshot) Release() {}
