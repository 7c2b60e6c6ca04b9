package consensus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
)

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
	if len(l.Data) < 2 || l.Data[0] != cmdPlan || len(l.Data)-1 > MaxPlanBytes {
		return s, fmt.Errorf("%w at %d/%d", errBadCommand, l.Term, l.Index)
	}
	e := gridmesh.Epoch{Term: l.Term, Index: l.Index}
	return planState{epoch: e, body: bytes.Clone(l.Data[1:]), committed: s.committed + 1, cluster: s.cluster}, e
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
}

var _ raft.FSM = (*fsm)(nil)

// Apply implements raft.FSM. The response is the entry's gridmesh.Epoch,
// or an error for an entry the FSM does not understand.
func (f *fsm) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	next, resp := f.state.apply(l)
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

// clusterID returns the cluster's name, "" before it was named.
func (f *fsm) clusterID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.cluster
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
