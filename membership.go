package gridmesh

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// MembershipClockSkew is how far before its IssuedMs a membership
// certificate is already accepted (5 minutes, Kerberos's default
// tolerance): certificates are issued on an administrator's machine and
// checked on the homes', whose clocks NTP keeps far closer than that, so
// a certificate handed to a home the minute it was made is not refused
// for a clock that runs a little behind.
const MembershipClockSkew = 5 * time.Minute

// Reasons Membership.Verify refuses a certificate, besides ErrInvalid for
// a malformed one and ErrBadSignature for one the neighborhood's key did
// not sign. Verify wraps them with the details; callers count them with
// errors.Is.
var (
	// ErrMembershipExpired: now is at or past the certificate's ExpiresMs.
	ErrMembershipExpired = errors.New("membership expired")
	// ErrMembershipNotYetValid: now is more than MembershipClockSkew
	// before the certificate's IssuedMs.
	ErrMembershipNotYetValid = errors.New("membership not yet valid")
	// ErrWrongNeighborhood: the certificate admits its holder to another
	// neighborhood than the one asked about.
	ErrWrongNeighborhood = errors.New("membership of another neighborhood")
)

// Membership is a home's certificate of membership in a neighborhood,
// signed with the neighborhood's ed25519 membership key. It binds the
// home to its libp2p peer ID: a peer presenting it proves it holds that
// ID's private key by the connection's handshake, and the neighborhood's
// key holder vouches that the ID belongs to the neighborhood. Every field
// but Signature is signed.
type Membership struct {
	Version      uint16         `cbor:"1,keyasint"`
	Neighborhood NeighborhoodID `cbor:"2,keyasint"`
	// Peer is the home's libp2p peer ID in its string form; it follows
	// the rules of an identifier (see HomeID.Validate), which every
	// base58 peer ID does.
	Peer string `cbor:"3,keyasint"`
	// Home is the home's ID.
	Home HomeID `cbor:"4,keyasint"`
	// IssuedMs and ExpiresMs bound the certificate's validity, in Unix
	// milliseconds: from IssuedMs (less MembershipClockSkew) up to, not
	// including, ExpiresMs.
	IssuedMs  int64 `cbor:"5,keyasint"`
	ExpiresMs int64 `cbor:"6,keyasint"`
	// Signature is ed25519 over SigningBytes.
	Signature []byte `cbor:"7,keyasint"`
}

// membershipDomain starts every certificate's signing bytes, so that a
// signature over a certificate can never be taken for one over anything
// else a key signs (a signal, say, should an operator reuse a key).
const membershipDomain = "gridmesh/membership\x00"

// SigningBytes is the canonical encoding the signature covers: a domain
// string, then every field but Signature in declaration order, integers
// big-endian, strings prefixed by their 32-bit length. It depends on the
// field values alone, never on how the certificate travelled.
func (m Membership) SigningBytes() []byte {
	b := make([]byte, 0, len(membershipDomain)+2+3*4+len(m.Neighborhood)+len(m.Peer)+len(m.Home)+2*8)
	b = append(b, membershipDomain...)
	b = binary.BigEndian.AppendUint16(b, m.Version)
	for _, s := range []string{string(m.Neighborhood), m.Peer, string(m.Home)} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(m.IssuedMs))
	b = binary.BigEndian.AppendUint64(b, uint64(m.ExpiresMs))
	return b
}

// Validate checks the version, identifiers and validity window: the
// certificate's shape. It does not look at the signature (see Verify).
func (m Membership) Validate() error {
	if m.Version != WireVersion {
		return fmt.Errorf("%w: membership version %d, want %d", ErrInvalid, m.Version, WireVersion)
	}
	if err := m.Neighborhood.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := validID("peer", m.Peer); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := m.Home.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if m.IssuedMs <= 0 || m.ExpiresMs <= m.IssuedMs {
		return fmt.Errorf("%w: membership window [%d, %d) ms must be non-empty and after 1970",
			ErrInvalid, m.IssuedMs, m.ExpiresMs)
	}
	return nil
}

// Sign validates the certificate and sets its Signature with the
// neighborhood's membership key.
func (m *Membership) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("sign membership: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("sign membership: %w", err)
	}
	m.Signature = ed25519.Sign(priv, m.SigningBytes())
	return nil
}

// Check is Verify without the signature: the certificate is well formed
// (else ErrInvalid), for nbhd (ErrWrongNeighborhood), not expired
// (ErrMembershipExpired) and not issued more than MembershipClockSkew
// after now (ErrMembershipNotYetValid). A caller that remembers which
// certificates' signatures it verified (the same bytes, signature and
// key) checks a certificate it sees again with Check alone.
func (m Membership) Check(nbhd NeighborhoodID, now time.Time) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if m.Neighborhood != nbhd {
		return fmt.Errorf("%w: %s's certificate is for %s, not %s", ErrWrongNeighborhood, m.Home, m.Neighborhood, nbhd)
	}
	nowMs := now.UnixMilli()
	if nowMs >= m.ExpiresMs {
		return fmt.Errorf("%w: %s's certificate expired at %d ms, now %d ms", ErrMembershipExpired, m.Home, m.ExpiresMs, nowMs)
	}
	if nowMs < m.IssuedMs-MembershipClockSkew.Milliseconds() { // IssuedMs > 0, so no overflow
		return fmt.Errorf("%w: %s's certificate issued at %d ms, now %d ms", ErrMembershipNotYetValid, m.Home, m.IssuedMs, nowMs)
	}
	return nil
}

// Verify reports whether the certificate admits its holder to
// neighborhood nbhd at now: well formed (else ErrInvalid), for nbhd
// (ErrWrongNeighborhood), not expired (ErrMembershipExpired), not issued
// more than MembershipClockSkew after now (ErrMembershipNotYetValid), and
// signed by pub, nbhd's membership key (ErrBadSignature). The cheap checks
// run first, so junk costs no signature check.
//
// Verify does not know who presents the certificate: the caller must
// check that Peer is the peer it came from.
func (m Membership) Verify(pub ed25519.PublicKey, nbhd NeighborhoodID, now time.Time) error {
	if err := m.Check(nbhd, now); err != nil {
		return err
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: membership key of %d bytes, want %d", ErrBadSignature, len(pub), ed25519.PublicKeySize)
	}
	if len(m.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %s's certificate: signature of %d bytes, want %d", ErrBadSignature, m.Home, len(m.Signature), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, m.SigningBytes(), m.Signature) {
		return fmt.Errorf("%w: %s's certificate", ErrBadSignature, m.Home)
	}
	return nil
}

// Expires returns when the certificate stops admitting its holder.
func (m Membership) Expires() time.Time { return time.UnixMilli(m.ExpiresMs) }
