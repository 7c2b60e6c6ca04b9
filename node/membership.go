package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh"
)

// Files of a neighborhood's membership key, as `gridmesh neighborhood
// init` writes them.
const (
	// NeighborhoodKeyFile holds the private key (mode 0600). Whoever holds
	// it admits homes to the neighborhood: keep it off the homes.
	NeighborhoodKeyFile = "neighborhood.key"
	// NeighborhoodPubFile holds the public key every home of the
	// neighborhood needs.
	NeighborhoodPubFile = "neighborhood.pub"
)

// PEM block types of the files. Each block carries a "Neighborhood"
// header naming the neighborhood; a certificate's headers also name its
// home, peer and expiry, for people: its body is what counts.
const (
	pemPrivateKey  = "GRIDMESH NEIGHBORHOOD PRIVATE KEY" // the 32-byte ed25519 seed
	pemPublicKey   = "GRIDMESH NEIGHBORHOOD PUBLIC KEY"  // the 32-byte ed25519 key
	pemMembership  = "GRIDMESH MEMBERSHIP"               // a mesh.EncodeMembership certificate
	headerNbhd     = "Neighborhood"
	maxKeyFileSize = 64 << 10 // far above any of these files: refuse to read a wrong one whole
)

// CreateNeighborhoodKey creates neighborhood id's membership key pair in
// dir (created 0700 if need be): NeighborhoodKeyFile (0600) and
// NeighborhoodPubFile (0644). It never overwrites a key: if either file
// exists it fails, and a crash leaves no half-written file.
func CreateNeighborhoodKey(dir string, id gridmesh.NeighborhoodID) (ed25519.PublicKey, error) {
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("neighborhood key: %w", err)
	}
	keyPath, pubPath := filepath.Join(dir, NeighborhoodKeyFile), filepath.Join(dir, NeighborhoodPubFile)
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("neighborhood key: %s exists; not overwriting it", p)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("neighborhood key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("neighborhood key: %w", err)
	}
	hdr := map[string]string{headerNbhd: string(id)}
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Headers: hdr, Bytes: priv.Seed()}), 0o600); err != nil {
		return nil, fmt.Errorf("neighborhood key: %w", err)
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Headers: hdr, Bytes: pub}), 0o644); err != nil {
		return nil, fmt.Errorf("neighborhood key: %w", err)
	}
	return pub, nil
}

// LoadNeighborhoodKey reads a NeighborhoodKeyFile: the neighborhood's ID
// and private key. A file its group or others may read is refused
// (ErrKeyExposed).
func LoadNeighborhoodKey(path string) (gridmesh.NeighborhoodID, ed25519.PrivateKey, error) {
	if err := checkPrivate(path); err != nil {
		return "", nil, fmt.Errorf("neighborhood key: %w", err)
	}
	id, b, err := readPEM(path, pemPrivateKey, ed25519.SeedSize)
	if err != nil {
		return "", nil, fmt.Errorf("neighborhood key: %w", err)
	}
	return id, ed25519.NewKeyFromSeed(b), nil
}

// LoadNeighborhoodPublicKey reads a NeighborhoodPubFile: the
// neighborhood's ID and public key.
func LoadNeighborhoodPublicKey(path string) (gridmesh.NeighborhoodID, ed25519.PublicKey, error) {
	id, b, err := readPEM(path, pemPublicKey, ed25519.PublicKeySize)
	if err != nil {
		return "", nil, fmt.Errorf("neighborhood public key: %w", err)
	}
	return id, ed25519.PublicKey(b), nil
}

// IssueMembership signs a certificate admitting home, with libp2p peer ID
// peerID, to the neighborhood whose key file is at keyPath, valid from
// now for valid.
func IssueMembership(keyPath, peerID string, home gridmesh.HomeID, now time.Time, valid time.Duration) (gridmesh.Membership, error) {
	id, priv, err := LoadNeighborhoodKey(keyPath)
	if err != nil {
		return gridmesh.Membership{}, err
	}
	if valid <= 0 {
		return gridmesh.Membership{}, fmt.Errorf("membership: validity %v must be positive", valid)
	}
	if _, err := peer.Decode(peerID); err != nil {
		return gridmesh.Membership{}, fmt.Errorf("membership: %q is not a libp2p peer ID: %w", peerID, err)
	}
	m := gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: id, Peer: peerID, Home: home,
		IssuedMs: now.UnixMilli(), ExpiresMs: now.Add(valid).UnixMilli(),
	}
	if err := m.Sign(priv); err != nil {
		return gridmesh.Membership{}, fmt.Errorf("membership: %w", err)
	}
	return m, nil
}

// WriteMembership writes a certificate to path (0644: it is no secret,
// useless without the peer's own key), replacing any file there.
func WriteMembership(path string, m gridmesh.Membership) error {
	b, err := mesh.EncodeMembership(m)
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	block := &pem.Block{Type: pemMembership, Bytes: b, Headers: map[string]string{
		headerNbhd: string(m.Neighborhood), "Home": string(m.Home), "Peer": m.Peer,
		"Expires": m.Expires().UTC().Format(time.RFC3339),
	}}
	if err := writeReplace(path, pem.EncodeToMemory(block), 0o644); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	return nil
}

// LoadMembership reads a certificate WriteMembership wrote. It checks its
// shape, not its signature.
func LoadMembership(path string) (gridmesh.Membership, error) {
	_, b, err := readPEM(path, pemMembership, -1)
	if err != nil {
		return gridmesh.Membership{}, fmt.Errorf("membership: %w", err)
	}
	m, err := mesh.DecodeMembership(b)
	if err != nil {
		return gridmesh.Membership{}, fmt.Errorf("membership %s: %w", path, err)
	}
	return m, nil
}

// LoadAdmission reads a neighborhood's public key file and a home's
// certificate into a mesh.AdmissionConfig with the default timings. The
// certificate must be for the key's neighborhood and verify against it
// now; whether it names this home's peer is checked when the mesh opens.
func LoadAdmission(pubPath, certPath string, now time.Time) (*mesh.AdmissionConfig, error) {
	return LoadRotatedAdmission(pubPath, certPath, KeyRotation{}, now)
}

// KeyRotation names the neighborhood's previous public key file after a
// rotation, and the end of the overlap during which certificates it
// signed are still accepted (mesh.AdmissionConfig.PreviousKey). The zero
// value is no rotation.
type KeyRotation struct {
	PreviousPubPath string
	Until           time.Time
}

// LoadRotatedAdmission is LoadAdmission during a key rotation: the
// home's certificate may be signed by either key until r.Until.
func LoadRotatedAdmission(pubPath, certPath string, r KeyRotation, now time.Time) (*mesh.AdmissionConfig, error) {
	id, pub, err := LoadNeighborhoodPublicKey(pubPath)
	if err != nil {
		return nil, err
	}
	m, err := LoadMembership(certPath)
	if err != nil {
		return nil, err
	}
	adm := mesh.DefaultAdmission(pub, m)
	if r.PreviousPubPath != "" {
		prevID, prev, err := LoadNeighborhoodPublicKey(r.PreviousPubPath)
		if err != nil {
			return nil, fmt.Errorf("previous key: %w", err)
		}
		if prevID != id {
			return nil, fmt.Errorf("previous key %s is neighborhood %s's, the current one %s's", r.PreviousPubPath, prevID, id)
		}
		adm.PreviousKey, adm.PreviousUntil = prev, r.Until
	}
	var first error
	for _, k := range adm.Keys(now) {
		if err := m.Verify(k, id, now); err == nil {
			return adm, nil
		} else if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("membership %s: %w", certPath, first)
}

// readPEM reads the single PEM block of type typ from path, returning its
// Neighborhood header (validated; "" if the block has none) and its body,
// which must be size bytes unless size is negative.
func readPEM(path, typ string, size int) (gridmesh.NeighborhoodID, []byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", nil, err
	}
	if st.Size() > maxKeyFileSize {
		return "", nil, fmt.Errorf("%s: %d bytes, not a gridmesh key or certificate", path, st.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != typ {
		return "", nil, fmt.Errorf("%s: no %q PEM block", path, typ)
	}
	if size >= 0 && len(block.Bytes) != size {
		return "", nil, fmt.Errorf("%s: %d bytes of key, want %d", path, len(block.Bytes), size)
	}
	id := gridmesh.NeighborhoodID(block.Headers[headerNbhd])
	if err := id.Validate(); err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return id, block.Bytes, nil
}

// writeNew writes data to path, which must not exist, atomically: a
// synced temporary file is hard-linked into place, which fails if path
// appeared meanwhile.
func writeNew(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeReplace writes data to path atomically, replacing what is there.
func writeReplace(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename: nothing to remove
	return os.Rename(tmp, path)
}

// writeTemp writes data to a synced temporary file beside path, with
// mode perm, and returns its name.
func writeTemp(path string, data []byte, perm os.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return "", err
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close(), os.Chmod(name, perm)); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}
