package consensus

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/gridmesh/gridmesh"
)

// revocation is a revocation of peer signed by a fixed key.
func revocation(t testing.TB, peer string) gridmesh.Revocation {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	r := gridmesh.Revocation{Version: gridmesh.WireVersion, Neighborhood: "n1", Peer: peer, IssuedMs: 1_780_000_000_000}
	if err := r.Sign(priv); err != nil {
		t.Fatal(err)
	}
	return r
}

func revokeLog(t testing.TB, index uint64, peer string) *raft.Log {
	t.Helper()
	cmd, err := revokeCommand(revocation(t, peer))
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Type: raft.LogCommand, Term: 1, Index: index, Data: cmd}
}

func revokedPeers(rs []gridmesh.Revocation) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Peer
	}
	return out
}

func TestFSMKeepsRevocationsBesidePlans(t *testing.T) {
	f := fsm{changed: make(chan struct{}, 1)}
	f.Apply(planLog(1, 1, "a"))
	for i, p := range []string{"pc", "pa", "pb", "pa"} {
		if got := f.Apply(revokeLog(t, uint64(i+2), p)); got != p {
			t.Fatalf("Apply(revoke %s) = %v", p, got)
		}
	}
	if got := revokedPeers(f.revocations()); !slices.Equal(got, []string{"pa", "pb", "pc"}) {
		t.Fatalf("revoked %v, want pa pb pc once each, sorted", got)
	}
	select {
	case <-f.changed:
	default:
		t.Fatal("no notice of a new revocation")
	}
	f.Apply(revokeLog(t, 9, "pa"))
	select {
	case <-f.changed:
		t.Fatal("a notice for a peer revoked before")
	default:
	}
	if e, body, n := f.latest(); e != (gridmesh.Epoch{Term: 1, Index: 1}) || string(body) != "a" || n != 1 {
		t.Fatalf("revocations changed the plan: %v %q %d", e, body, n)
	}
	f.Apply(planLog(2, 10, "b"))
	if got := revokedPeers(f.revocations()); len(got) != 3 {
		t.Fatalf("a plan dropped the revocations: %v", got)
	}
}

func TestFSMRefusesMalformedRevocations(t *testing.T) {
	var f fsm
	good, err := revokeCommand(revocation(t, "pa"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"kind only":       {cmdRevoke},
		"signature cut":   good[:len(good)-1],
		"trailing byte":   append(bytes.Clone(good), 0),
		"unknown version": append([]byte{cmdRevoke, 0, 9}, good[3:]...),
	} {
		resp := f.Apply(&raft.Log{Type: raft.LogCommand, Term: 1, Index: 2, Data: data})
		if err, ok := resp.(error); !ok || !errors.Is(err, errBadCommand) {
			t.Errorf("%s: response %v, want errBadCommand", name, resp)
		}
	}
	if got := f.revocations(); len(got) != 0 {
		t.Fatalf("malformed entries revoked %v", revokedPeers(got))
	}
}

func TestFSMRefusesRevocationsPastTheBound(t *testing.T) {
	var f fsm
	for i := range MaxRevocations {
		f.state.revoked = append(f.state.revoked, gridmesh.Revocation{Peer: string(rune('a'+i%26)) + string(rune(i))})
	}
	slices.SortFunc(f.state.revoked, func(a, b gridmesh.Revocation) int { return bytes.Compare([]byte(a.Peer), []byte(b.Peer)) })
	if resp := f.Apply(revokeLog(t, 1, "pz")); !errors.Is(resp.(error), errBadCommand) {
		t.Fatalf("revocation %d: response %v, want errBadCommand", MaxRevocations+1, resp)
	}
}

func TestSnapshotKeepsRevocations(t *testing.T) {
	var src fsm
	src.Apply(revokeLog(t, 1, "pb"))
	src.Apply(planLog(1, 2, "plan"))
	src.Apply(revokeLog(t, 3, "pa"))
	b := snapshotOf(t, &src)
	dst := fsm{changed: make(chan struct{}, 1)}
	if err := dst.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	got := dst.revocations()
	if !slices.Equal(revokedPeers(got), []string{"pa", "pb"}) {
		t.Fatalf("restored revocations %v, want pa pb", revokedPeers(got))
	}
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	for _, r := range got {
		if err := r.Verify("n1", pub); err != nil {
			t.Fatalf("restored revocation no longer verifies: %v", err)
		}
	}
	select {
	case <-dst.changed:
	default:
		t.Fatal("no notice of restored revocations")
	}
	// Revocations alone, no plan yet.
	var only fsm
	only.Apply(revokeLog(t, 1, "pa"))
	var back fsm
	if err := back.Restore(io.NopCloser(bytes.NewReader(snapshotOf(t, &only)))); err != nil || len(back.revocations()) != 1 {
		t.Fatalf("snapshot of revocations and no plan: %v, %d revocations", err, len(back.revocations()))
	}
}

func TestDecodeSnapshotRefusesUnsortedRevocations(t *testing.T) {
	a, _ := revocation(t, "pa").AppendBinary(nil)
	b, _ := revocation(t, "pb").AppendBinary(nil)
	for name, revoked := range map[string][][]byte{
		"unsorted":  {b, a},
		"duplicate": {a, a},
		"malformed": {a[:len(a)-1]},
	} {
		enc, err := snapshotEnc.Marshal(snapshotWire{Version: snapshotVersion, Revoked: revoked})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeSnapshot(bytes.NewReader(enc)); !errors.Is(err, errBadSnapshot) {
			t.Errorf("%s: %v, want errBadSnapshot", name, err)
		}
	}
}
