package mesh

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/gridmesh/gridmesh"
)

// MaxMessageBytes bounds one encoded wire message. A neighborhood plan is
// the largest message: with short home IDs a setpoint takes about 15-20
// bytes, so 64 KiB carries a few thousand homes — far more than one feeder
// serves — while a peer cannot make every home of a neighborhood buffer,
// decode and forward megabytes per message. Note that it binds before
// gridmesh.MaxSetpoints does: 10,000 setpoints never fit.
const MaxMessageBytes = 64 << 10

// ErrUndecodable is wrapped by every decoding error that is not a
// validation error: oversized input, malformed CBOR, unknown or duplicate
// fields, indefinite lengths, tags, trailing bytes, wrong types.
var ErrUndecodable = errors.New("undecodable message")

// Decoding limits. Every gridmesh message is a map of at most 9 fields
// nested at most 3 deep (Plan → Setpoints → Setpoint), and the only long
// array is a plan's setpoints.
const (
	// maxNestedLevels is the smallest value the library accepts (4); our
	// messages need 3.
	maxNestedLevels = 4
	// maxMapPairs is the smallest value the library accepts (16); our
	// largest struct has 9 fields.
	maxMapPairs = 16
	// maxArrayElements admits a plan with gridmesh.MaxSetpoints setpoints
	// and nothing longer.
	maxArrayElements = gridmesh.MaxSetpoints
)

// encMode is Core Deterministic Encoding: one message has exactly one
// encoding, so signatures and message IDs are stable. decMode refuses
// everything our encoder never produces. Both are immutable once built.
var (
	encMode = must(cbor.CoreDetEncOptions().EncMode())
	decMode = must(cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:   maxNestedLevels,
		MaxArrayElements:  maxArrayElements,
		MaxMapPairs:       maxMapPairs,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode())
)

// must panics on an error building a CBOR mode: the options are constants,
// so an error is a programming mistake caught by any test.
func must[M any](m M, err error) M {
	if err != nil {
		panic(fmt.Sprintf("mesh: cbor options: %v", err))
	}
	return m
}

// EncodeTelemetry validates t and encodes it for the wire.
func EncodeTelemetry(t gridmesh.Telemetry) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("encode telemetry: %w", err)
	}
	return encode("telemetry", t)
}

// DecodeTelemetry decodes and validates a telemetry message. Its errors
// wrap ErrUndecodable or gridmesh.ErrInvalid.
func DecodeTelemetry(b []byte) (gridmesh.Telemetry, error) {
	return decodeValid[gridmesh.Telemetry]("telemetry", b, MaxMessageBytes)
}

// EncodePlan validates p and encodes it for the wire. A plan whose
// encoding exceeds MaxMessageBytes is an error wrapping gridmesh.ErrInvalid.
func EncodePlan(p gridmesh.Plan) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return encode("plan", p)
}

// DecodePlan decodes and validates a plan. Its errors wrap ErrUndecodable
// or gridmesh.ErrInvalid.
func DecodePlan(b []byte) (gridmesh.Plan, error) {
	return decodeValid[gridmesh.Plan]("plan", b, MaxMessageBytes)
}

func encode(kind string, v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", kind, err)
	}
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("encode %s: %w: %d bytes, at most %d", kind, gridmesh.ErrInvalid, len(b), MaxMessageBytes)
	}
	return b, nil
}

func decode(kind string, b []byte, v any) error {
	if len(b) > MaxMessageBytes {
		return fmt.Errorf("decode %s: %w: %d bytes, at most %d", kind, ErrUndecodable, len(b), MaxMessageBytes)
	}
	if err := decMode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w: %w", kind, ErrUndecodable, err)
	}
	return nil
}

// decodeValid decodes b, of at most limit bytes (itself at most
// MaxMessageBytes), into a T and validates it: the one path of every
// decoder of a message with a Validate method. Its errors wrap
// ErrUndecodable or gridmesh.ErrInvalid.
func decodeValid[T any, P interface {
	*T
	Validate() error
}](kind string, b []byte, limit int) (T, error) {
	var v T
	if len(b) > limit {
		return v, fmt.Errorf("decode %s: %w: %d bytes, at most %d", kind, ErrUndecodable, len(b), limit)
	}
	if err := decode(kind, b, &v); err != nil {
		return v, err
	}
	if err := P(&v).Validate(); err != nil {
		var zero T
		return zero, fmt.Errorf("decode %s: %w", kind, err)
	}
	return v, nil
}

// MaxMembershipBytes bounds an encoded membership certificate: three
// identifiers of at most gridmesh.MaxIDLen bytes, two times, a 64-byte
// signature and CBOR framing take under 300 bytes, and a peer that is not
// yet admitted must not make a home read more than this.
const MaxMembershipBytes = 1 << 10

// EncodeMembership validates m and encodes it for the admission
// exchange. It does not check the signature.
func EncodeMembership(m gridmesh.Membership) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("encode membership: %w", err)
	}
	return encode("membership", m)
}

// DecodeMembership decodes and validates a membership certificate of at
// most MaxMembershipBytes. Its errors wrap ErrUndecodable or
// gridmesh.ErrInvalid. It does not check the signature: that takes the
// neighborhood's key (gridmesh.Membership.Verify).
func DecodeMembership(b []byte) (gridmesh.Membership, error) {
	return decodeValid[gridmesh.Membership]("membership", b, MaxMembershipBytes)
}
