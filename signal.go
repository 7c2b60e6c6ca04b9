package gridmesh

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// SignalKind says what a grid operator's signal asks of a region.
type SignalKind uint8

const (
	// SignalCutImport asks the region to import AmountW less than it
	// otherwise would, from StartMs to EndMs (demand response).
	SignalCutImport SignalKind = 1
	// SignalRegulation asks the region to follow a regulation signal from
	// StartMs to EndMs with AmountW of capacity each way: at a signal
	// value v in [-1, 1] the region imports v·AmountW less than its
	// baseline (v = 1: regulation up, v = -1: regulation down). The value
	// stream travels as one signal per value step: the same ID, Region,
	// window and AmountW, a Seq above the previous step's, and Value
	// the value from its arrival until the next step (see Value).
	SignalRegulation SignalKind = 2
	// SignalOutageWarning tells the region that the operator expects it
	// to lose the grid from StartMs to EndMs: a storm warning, or an
	// announced disconnection. It asks no power: AmountW is positive
	// (its value is not read) while the warning stands, and a step of
	// zero withdraws it, as a cut's does. Leaders keep their batteries'
	// energy ahead of StartMs and, islanded, ration it over the stated
	// window.
	SignalOutageWarning SignalKind = 3
)

// String names the kind.
func (k SignalKind) String() string {
	switch k {
	case SignalCutImport:
		return "cut-import"
	case SignalRegulation:
		return "regulation"
	case SignalOutageWarning:
		return "outage-warning"
	}
	return fmt.Sprintf("SignalKind(%d)", uint8(k))
}

// Bounds on a signal, beyond which it is out of range whoever signed it.
const (
	// MaxRegionPowerW bounds a signal's AmountW (1 TW): above the peak load
	// of any interconnection on Earth, so it refuses only nonsense and a
	// key holder's typo by orders of magnitude, and keeps every split far
	// from float overflow.
	MaxRegionPowerW W = 1e12
	// MaxSignalDurationMs bounds EndMs - StartMs (24 h): operators schedule
	// demand response by the hour and regulation by the hour; a longer
	// request is better re-sent, so that a leaked old signal cannot steer a
	// region for days.
	MaxSignalDurationMs = 24 * 3600 * 1000
	// MaxSignalLeadMs bounds how far ahead of its start a signal is
	// accepted (48 h): day-ahead notice, with a day to spare, so leaders can
	// keep energy in reserve ahead of a known event; further ahead is more
	// likely a wrong clock than a plan.
	MaxSignalLeadMs = 48 * 3600 * 1000
)

// Reasons Signal.Verify refuses a signal, besides ErrInvalid for a
// malformed one. Verify wraps them with the details; callers count them
// with errors.Is.
var (
	// ErrBadSignature: the signature is missing, malformed, or not the
	// signer's (the operator's for a Signal, the neighborhood's for a
	// Membership) over these exact fields.
	ErrBadSignature = errors.New("bad signature")
	// ErrSignalExpired: the signal's window [StartMs, EndMs) is over.
	ErrSignalExpired = errors.New("signal expired")
	// ErrSignalTooEarly: the signal starts more than MaxSignalLeadMs after
	// now.
	ErrSignalTooEarly = errors.New("signal starts too far ahead")
)

// Signal is a grid operator's request to a region, signed with the
// operator's ed25519 key. Every field but Signature is signed.
type Signal struct {
	Version uint16 `cbor:"1,keyasint"`
	// ID names the request, for logs and reports; it is an identifier
	// (see HomeID.Validate for the alphabet).
	ID string `cbor:"2,keyasint"`
	// Kind says what is asked.
	Kind SignalKind `cbor:"3,keyasint"`
	// Region is the region asked, an identifier.
	Region string `cbor:"4,keyasint"`
	// StartMs and EndMs bound the request, in Unix milliseconds: it holds
	// from StartMs up to, not including, EndMs.
	StartMs int64 `cbor:"5,keyasint"`
	EndMs   int64 `cbor:"6,keyasint"`
	// AmountW is the import cut asked (SignalCutImport) or the regulation
	// capacity asked each way (SignalRegulation); positive, except that a
	// cut step of zero withdraws the signal: it replaces the earlier steps
	// of its ID (a higher Seq, see Seq) and asks nothing until its EndMs
	// (an operator whose request is cancelled sends one).
	AmountW W `cbor:"7,keyasint"`
	// Seq increases with every signal the operator signs. Receivers keep
	// the highest Seq seen per operator key and refuse any signal not above
	// it: that is how a replay is refused (the check is stateful, so it is
	// the receiver's, not Verify's).
	Seq uint64 `cbor:"8,keyasint"`
	// Signature is ed25519 over SigningBytes.
	Signature []byte `cbor:"9,keyasint"`
	// Value is a regulation step's signal value in [-1, 1] (SignalRegulation
	// only; 0 for any other kind). Receivers follow the step with the
	// highest Seq of a signal ID; a step holds until the next one arrives,
	// for at most RegulationStepHoldMs, so an operator whose stream stops
	// leaves the region at its baseline rather than stuck at one value.
	Value float64 `cbor:"10,keyasint,omitempty"`
}

// RegulationStepHoldMs is how long a regulation step's Value holds with
// no newer step (60 s): PJM's RegD moves every 2 s and RegA every 4 s,
// and an operator tool sending slower steps re-sends the value at least
// this often.
const RegulationStepHoldMs = 60_000

// signingDomain starts every signal's signing bytes, so that a signature
// over a signal can never be taken for one over anything else the
// operator key signs.
const signingDomain = "gridmesh/signal\x00"

// SigningBytes is the canonical encoding the signature covers: a domain
// string, then every field but Signature in declaration order, integers
// big-endian, strings prefixed by their 32-bit length, AmountW as its
// IEEE-754 bits. It depends on the field values alone, never on how the
// message travelled.
func (s Signal) SigningBytes() []byte {
	b := make([]byte, 0, len(signingDomain)+2+4+len(s.ID)+1+4+len(s.Region)+8*4)
	b = append(b, signingDomain...)
	b = binary.BigEndian.AppendUint16(b, s.Version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.ID)))
	b = append(b, s.ID...)
	b = append(b, byte(s.Kind))
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Region)))
	b = append(b, s.Region...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.StartMs))
	b = binary.BigEndian.AppendUint64(b, uint64(s.EndMs))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(float64(s.AmountW)))
	b = binary.BigEndian.AppendUint64(b, s.Seq)
	if s.Kind == SignalRegulation {
		// Only regulation steps carry a value; other kinds' bytes are
		// unchanged by it.
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.Value))
	}
	return b
}

// Validate checks the version, identifiers, kind, window and amount: the
// message's shape. It does not look at the signature (see Verify).
func (s Signal) Validate() error {
	if s.Version != WireVersion {
		return fmt.Errorf("%w: signal version %d, want %d", ErrInvalid, s.Version, WireVersion)
	}
	if err := validID("signal", s.ID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := validID("region", s.Region); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if s.Kind != SignalCutImport && s.Kind != SignalRegulation && s.Kind != SignalOutageWarning {
		return fmt.Errorf("%w: signal kind %v", ErrInvalid, s.Kind)
	}
	if s.StartMs <= 0 || s.EndMs <= s.StartMs || s.EndMs-s.StartMs > MaxSignalDurationMs {
		return fmt.Errorf("%w: signal window [%d, %d) ms must be non-empty, after 1970 and at most %d ms",
			ErrInvalid, s.StartMs, s.EndMs, MaxSignalDurationMs)
	}
	if !s.AmountW.Finite() || s.AmountW < 0 || s.AmountW > MaxRegionPowerW ||
		s.AmountW == 0 && s.Kind == SignalRegulation {
		return fmt.Errorf("%w: signal amount %v outside (0, %v] (0 only withdraws a cut or a warning)", ErrInvalid, s.AmountW, MaxRegionPowerW)
	}
	if math.IsNaN(s.Value) || s.Value < -1 || s.Value > 1 || s.Kind != SignalRegulation && s.Value != 0 {
		return fmt.Errorf("%w: signal value %v outside [-1, 1] or set on a %v signal", ErrInvalid, s.Value, s.Kind)
	}
	return nil
}

// Sign validates the signal and sets its Signature with the operator's
// key.
func (s *Signal) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("sign signal: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("sign signal: %w", err)
	}
	if s.Value == 0 {
		s.Value = 0 // -0 travels as an omitted 0, which must sign the same
	}
	s.Signature = ed25519.Sign(priv, s.SigningBytes())
	return nil
}

// Verify reports whether the signal may be acted on at now: well formed
// (else ErrInvalid), not over (ErrSignalExpired: now is at or past EndMs),
// not starting more than MaxSignalLeadMs ahead (ErrSignalTooEarly), and
// signed by pub (ErrBadSignature). The cheap checks run first, so junk
// costs no signature check; a forged signal that is also expired is
// counted as expired. Replays of a valid signal pass: see Seq.
func (s Signal) Verify(pub ed25519.PublicKey, now time.Time) error {
	if err := s.Validate(); err != nil {
		return err
	}
	nowMs := now.UnixMilli()
	if nowMs >= s.EndMs {
		return fmt.Errorf("%w: signal %s ended at %d ms, now %d ms", ErrSignalExpired, s.ID, s.EndMs, nowMs)
	}
	if nowMs < s.StartMs-MaxSignalLeadMs { // StartMs > 0, so no overflow
		return fmt.Errorf("%w: signal %s starts at %d ms, now %d ms", ErrSignalTooEarly, s.ID, s.StartMs, nowMs)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: operator key of %d bytes, want %d", ErrBadSignature, len(pub), ed25519.PublicKeySize)
	}
	if len(s.Signature) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signal %s: signature of %d bytes, want %d", ErrBadSignature, s.ID, len(s.Signature), ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, s.SigningBytes(), s.Signature) {
		return fmt.Errorf("%w: signal %s", ErrBadSignature, s.ID)
	}
	return nil
}

// Start returns when the signal starts holding.
func (s Signal) Start() time.Time { return time.UnixMilli(s.StartMs) }

// End returns when the signal stops holding.
func (s Signal) End() time.Time { return time.UnixMilli(s.EndMs) }
