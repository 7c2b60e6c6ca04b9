package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
)

func TestNeighborhoodKeyAndCertificateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nb")
	pub, err := node.CreateNeighborhoodKey(dir, "feeder-1")
	if err != nil {
		t.Fatal(err)
	}
	keyPath, pubPath := filepath.Join(dir, node.NeighborhoodKeyFile), filepath.Join(dir, node.NeighborhoodPubFile)
	for path, want := range map[string]os.FileMode{keyPath: 0o600, pubPath: 0o644} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	before, _ := os.ReadFile(keyPath)
	if _, err := node.CreateNeighborhoodKey(dir, "feeder-1"); err == nil {
		t.Fatal("an existing key was overwritten")
	}
	if after, _ := os.ReadFile(keyPath); string(after) != string(before) {
		t.Fatal("the key file changed")
	}
	id, gotPub, err := node.LoadNeighborhoodPublicKey(pubPath)
	if err != nil || id != "feeder-1" || !gotPub.Equal(pub) {
		t.Fatalf("public key: %s %x %v", id, gotPub, err)
	}
	if _, _, err := node.LoadNeighborhoodKey(pubPath); err == nil {
		t.Error("a public key file loaded as the private key")
	}

	self, err := peer.IDFromPrivateKey(meshtest.NewKey(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m, err := node.IssueMembership(keyPath, self.String(), "h7", now, 8760*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(pub, "feeder-1", now); err != nil {
		t.Fatalf("issued certificate does not verify: %v", err)
	}
	certPath := filepath.Join(t.TempDir(), "h7.membership")
	if err := node.WriteMembership(certPath, m); err != nil {
		t.Fatal(err)
	}
	adm, err := node.LoadAdmission(pubPath, certPath, now)
	if err != nil {
		t.Fatal(err)
	}
	if adm.Own.Peer != self.String() || adm.Own.Home != "h7" || !adm.NeighborhoodKey.Equal(pub) {
		t.Errorf("admission %+v", adm)
	}
	if err := adm.Validate(); err != nil {
		t.Error(err)
	}
	if _, err := node.LoadAdmission(pubPath, certPath, now.Add(8761*time.Hour)); !errors.Is(err, gridmesh.ErrMembershipExpired) {
		t.Errorf("a year and an hour on: %v, want expired", err)
	}

	// Another neighborhood's public key does not admit this certificate.
	other := filepath.Join(t.TempDir(), "other")
	if _, err := node.CreateNeighborhoodKey(other, "feeder-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := node.LoadAdmission(filepath.Join(other, node.NeighborhoodPubFile), certPath, now); !errors.Is(err, gridmesh.ErrWrongNeighborhood) {
		t.Errorf("another neighborhood's key: %v", err)
	}
	for name, args := range map[string][2]string{
		"bad peer ID": {"not a peer id!", "h7"},
		"bad home":    {self.String(), "a/b"},
		"not base58":  {"abc0", "h7"},
	} {
		if _, err := node.IssueMembership(keyPath, args[0], gridmesh.HomeID(args[1]), now, time.Hour); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
	if _, err := node.IssueMembership(keyPath, self.String(), "h7", now, 0); err == nil {
		t.Error("zero validity issued")
	}
	if _, err := node.LoadMembership(keyPath); err == nil {
		t.Error("a key file loaded as a certificate")
	}
}

// After the neighborhood's key is rotated, a home still holding a
// certificate of the previous key starts (and is admitted) until the
// overlap ends, and not after; a previous key of another neighborhood is
// refused.
func TestLoadRotatedAdmission(t *testing.T) {
	oldDir, newDir := filepath.Join(t.TempDir(), "old"), filepath.Join(t.TempDir(), "new")
	for _, dir := range []string{oldDir, newDir} {
		if _, err := node.CreateNeighborhoodKey(dir, "feeder-1"); err != nil {
			t.Fatal(err)
		}
	}
	self, err := peer.IDFromPrivateKey(meshtest.NewKey(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m, err := node.IssueMembership(filepath.Join(oldDir, node.NeighborhoodKeyFile), self.String(), "h7", now, 8760*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(t.TempDir(), "h7.membership")
	if err := node.WriteMembership(certPath, m); err != nil {
		t.Fatal(err)
	}
	newPub := filepath.Join(newDir, node.NeighborhoodPubFile)
	rot := node.KeyRotation{PreviousPubPath: filepath.Join(oldDir, node.NeighborhoodPubFile), Until: now.Add(30 * 24 * time.Hour)}
	if _, err := node.LoadAdmission(newPub, certPath, now); !errors.Is(err, gridmesh.ErrBadSignature) {
		t.Errorf("the previous key's certificate without the rotation: %v, want a bad signature", err)
	}
	adm, err := node.LoadRotatedAdmission(newPub, certPath, rot, now)
	if err != nil {
		t.Fatalf("within the overlap: %v", err)
	}
	if err := adm.Validate(); err != nil || len(adm.Keys(now)) != 2 {
		t.Errorf("admission within the overlap: %v, %d keys accepted", err, len(adm.Keys(now)))
	}
	if _, err := node.LoadRotatedAdmission(newPub, certPath, rot, rot.Until.Add(time.Second)); !errors.Is(err, gridmesh.ErrBadSignature) {
		t.Errorf("after the overlap: %v, want a bad signature", err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if _, err := node.CreateNeighborhoodKey(other, "feeder-2"); err != nil {
		t.Fatal(err)
	}
	rot.PreviousPubPath = filepath.Join(other, node.NeighborhoodPubFile)
	if _, err := node.LoadRotatedAdmission(newPub, certPath, rot, now); err == nil {
		t.Error("another neighborhood's previous key accepted")
	}
}
