package gridmesh

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// Revocation withdraws a home's membership of a neighborhood for good:
// signed with the neighborhood's membership key (the key that signed the
// certificate), it names the peer ID no home of the neighborhood admits
// any more, whatever certificate it presents. A revocation travels to the
// neighborhood's Raft leader and is committed to the neighborhood's log,
// so every member, and every member that joins later, applies it. Every
// field but Signature is signed.
type Revocation struct {
	Version      uint16
	Neighborhood NeighborhoodID
	// Peer is the revoked home's libp2p peer ID in its string form.
	Peer string
	// IssuedMs is when the revocation was signed, Unix milliseconds: for
	// the record, since a revocation never expires.
	IssuedMs int64
	// Signature is ed25519 over SigningBytes.
	Signature []byte
}

// revocationDomain starts every revocation's signing bytes, so that its
// signature can never pass for a certificate's (membershipDomain) or
// anything else the neighborhood key signs.
const revocationDomain = "gridmesh/revocation\x00"

// MaxRevocationBytes bounds an encoded revocation: the version, the
// time, two identifiers of at most MaxIDLen bytes after their length
// bytes, and the signature.
const MaxRevocationBytes = 2 + 8 + 2*(1+MaxIDLen) + ed25519.SignatureSize

// SigningBytes is the canonical encoding the signature covers: a domain
// string, then every field but Signature in declaration order, integers
// big-endian, strings prefixed by their 32-bit length.
func (r Revocation) SigningBytes() []byte {
	b := make([]byte, 0, len(revocationDomain)+2+2*4+len(r.Neighborhood)+len(r.Peer)+8)
	b = append(b, revocationDomain...)
	b = binary.BigEndian.AppendUint16(b, r.Version)
	for _, s := range []string{string(r.Neighborhood), r.Peer} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return binary.BigEndian.AppendUint64(b, uint64(r.IssuedMs))
}

// Validate checks the version, identifiers and time: the revocation's
// shape, not its signature (see Verify).
func (r Revocation) Validate() error {
	if r.Version != WireVersion {
		return fmt.Errorf("%w: revocation version %d, want %d", ErrInvalid, r.Version, WireVersion)
	}
	if err := r.Neighborhood.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := validID("peer", r.Peer); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if r.IssuedMs <= 0 {
		return fmt.Errorf("%w: revocation issued at %d ms, before 1970", ErrInvalid, r.IssuedMs)
	}
	return nil
}

// Sign validates the revocation and sets its Signature with the
// neighborhood's membership key.
func (r *Revocation) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("sign revocation: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("sign revocation: %w", err)
	}
	r.Signature = ed25519.Sign(priv, r.SigningBytes())
	return nil
}

// Verify reports whether the revocation is well formed (else ErrInvalid),
// for neighborhood nbhd (ErrWrongNeighborhood) and signed by one of keys,
// nbhd's membership keys (ErrBadSignature).
func (r Revocation) Verify(nbhd NeighborhoodID, keys ...ed25519.PublicKey) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Neighborhood != nbhd {
		return fmt.Errorf("%w: revocation of %s for %s, not %s", ErrWrongNeighborhood, r.Peer, r.Neighborhood, nbhd)
	}
	if len(r.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: revocation of %s: signature of %d bytes, want %d", ErrBadSignature, r.Peer, len(r.Signature), ed25519.SignatureSize)
	}
	msg := r.SigningBytes()
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, r.Signature) {
			return nil
		}
	}
	return fmt.Errorf("%w: revocation of %s: signed by none of %d neighborhood keys", ErrBadSignature, r.Peer, len(keys))
}

// AppendBinary appends the revocation's binary form to b: the version and
// time big-endian, the neighborhood and peer each after a length byte,
// then the 64-byte signature. The form is fixed so that the Raft log, the
// home's HTTP API and the libp2p stream that carries it to the leader all
// read it with ParseRevocation alone.
func (r Revocation) AppendBinary(b []byte) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return b, err
	}
	if len(r.Signature) != ed25519.SignatureSize {
		return b, fmt.Errorf("%w: revocation signature of %d bytes, want %d", ErrInvalid, len(r.Signature), ed25519.SignatureSize)
	}
	b = binary.BigEndian.AppendUint16(b, r.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(r.IssuedMs))
	b = append(b, byte(len(r.Neighborhood)))
	b = append(b, r.Neighborhood...)
	b = append(b, byte(len(r.Peer)))
	b = append(b, r.Peer...)
	return append(b, r.Signature...), nil
}

// ParseRevocation reads a revocation in the form AppendBinary writes,
// refusing any other length, shape or trailing byte (ErrInvalid). It does
// not check the signature.
func ParseRevocation(b []byte) (Revocation, error) {
	var r Revocation
	if len(b) > MaxRevocationBytes || len(b) < 2+8+1 {
		return r, fmt.Errorf("%w: revocation of %d bytes", ErrInvalid, len(b))
	}
	r.Version = binary.BigEndian.Uint16(b)
	r.IssuedMs = int64(binary.BigEndian.Uint64(b[2:]))
	rest := b[10:]
	var ok bool
	var s string
	if s, rest, ok = lengthPrefixed(rest); !ok {
		return Revocation{}, fmt.Errorf("%w: revocation's neighborhood cut short", ErrInvalid)
	}
	r.Neighborhood = NeighborhoodID(s)
	if r.Peer, rest, ok = lengthPrefixed(rest); !ok {
		return Revocation{}, fmt.Errorf("%w: revocation's peer cut short", ErrInvalid)
	}
	if len(rest) != ed25519.SignatureSize {
		return Revocation{}, fmt.Errorf("%w: revocation signature of %d bytes, want %d", ErrInvalid, len(rest), ed25519.SignatureSize)
	}
	r.Signature = append([]byte(nil), rest...)
	if err := r.Validate(); err != nil {
		return Revocation{}, err
	}
	return r, nil
}

// lengthPrefixed splits a string after its length byte off b.
func lengthPrefixed(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}
