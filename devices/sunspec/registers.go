package sunspec

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Model IDs this package understands (the SunSpec model numbers).
const (
	ModelCommon             uint16 = 1
	ModelInverter1Phase     uint16 = 101
	ModelInverterSplitPhase uint16 = 102
	ModelInverter3Phase     uint16 = 103
	ModelNameplate          uint16 = 120
	ModelSettings           uint16 = 121
	ModelControls           uint16 = 123
	ModelStorage            uint16 = 124
	ModelMPPT               uint16 = 160
	ModelMeter1Phase        uint16 = 201
	ModelMeterSplitPhase    uint16 = 202
	ModelMeter3PhaseWye     uint16 = 203
	ModelMeter3PhaseDelta   uint16 = 204
	ModelDERControls        uint16 = 704
	ModelBattery            uint16 = 802
)

// Register-map constants of the SunSpec Modbus specification.
const (
	// markerHi and markerLo spell "SunS", the two registers at the base.
	markerHi, markerLo uint16 = 0x5375, 0x6e53
	// endID closes the model chain.
	endID uint16 = 0xFFFF
	// Not-implemented values: a point holding one is absent.
	notInt16  uint16 = 0x8000 // int16 and sunssf
	notUint16 uint16 = 0xFFFF // uint16, enum16, bitfield16
	notUint32 uint32 = 0xFFFFFFFF
	// maxSF bounds a scale factor's magnitude: SunSpec allows -10..10.
	maxSF = 10
)

// Errors a caller may branch on. Each is wrapped in a *gridmesh.DeviceError
// by the driver.
var (
	// ErrNotSunSpec: no "SunS" marker at any base address tried.
	ErrNotSunSpec = errors.New("sunspec: no SunS marker")
	// ErrBadModel: the model chain or a model's content is malformed or
	// out of range.
	ErrBadModel = errors.New("sunspec: malformed model")
	// ErrModelMissing: the device lacks a model the operation needs.
	ErrModelMissing = errors.New("sunspec: model missing")
	// ErrRefused: the device answered with a Modbus exception (illegal
	// function, address or value).
	ErrRefused = errors.New("sunspec: request refused")
	// ErrBadCommand: a command that is not a number.
	ErrBadCommand = errors.New("sunspec: bad command")
	// ErrClosed: the Device was closed.
	ErrClosed = errors.New("sunspec: device closed")
)

// ModelHeader is one model of a device's chain.
type ModelHeader struct {
	// ID is the SunSpec model number.
	ID uint16
	// Addr is the 0-based holding-register address of the model's ID
	// register; its points start at Addr+2.
	Addr uint16
	// Len is the model's length in registers, the ID and length excluded.
	Len uint16
}

// readFunc reads n holding registers from addr. A read the device refuses
// (a Modbus exception) returns an error wrapping ErrRefused; any other
// error means the device could not be read at all.
type readFunc func(addr, n uint16) ([]uint16, error)

// discover finds the SunS marker at the first of bases that has it and
// walks the model chain from there. A refused read at a base moves on to
// the next base; any other read error ends discovery with that error.
func discover(read readFunc, bases []uint16, maxModels int) (uint16, []ModelHeader, error) {
	for _, base := range bases {
		if uint32(base)+2 > 0x10000 {
			continue
		}
		regs, err := read(base, 2)
		if errors.Is(err, ErrRefused) {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		if len(regs) != 2 || regs[0] != markerHi || regs[1] != markerLo {
			continue
		}
		chain, err := walkModels(read, base, maxModels)
		return base, chain, err
	}
	return 0, nil, fmt.Errorf("%w at %v", ErrNotSunSpec, bases)
}

// walkModels walks the chain of models that follows the marker at base,
// up to the end marker. A model that runs past the register space, a
// chain with no end marker or more than maxModels models is ErrBadModel.
// Addresses only grow (every header advances at least 2 registers), so a
// chain cannot loop; uint32 arithmetic keeps it from wrapping.
func walkModels(read readFunc, base uint16, maxModels int) ([]ModelHeader, error) {
	var chain []ModelHeader
	addr := uint32(base) + 2
	for {
		if addr+2 > 0x10000 {
			return nil, fmt.Errorf("%w: chain runs past the register space without an end marker", ErrBadModel)
		}
		hdr, err := read(uint16(addr), 2)
		if err != nil {
			return nil, fmt.Errorf("model header at %d: %w", addr, err)
		}
		if len(hdr) != 2 {
			return nil, fmt.Errorf("%w: header at %d: %d registers", ErrBadModel, addr, len(hdr))
		}
		if hdr[0] == endID {
			return chain, nil
		}
		if len(chain) == maxModels {
			return nil, fmt.Errorf("%w: more than %d models", ErrBadModel, maxModels)
		}
		end := addr + 2 + uint32(hdr[1])
		if end > 0x10000 {
			return nil, fmt.Errorf("%w: model %d at %d of length %d runs past the register space", ErrBadModel, hdr[0], addr, hdr[1])
		}
		chain = append(chain, ModelHeader{ID: hdr[0], Addr: uint16(addr), Len: hdr[1]})
		addr = end
	}
}

// value is a scaled point; ok is false when the device does not implement
// the point or its scale factor.
type value struct {
	v  float64
	ok bool
}

// pow10 holds 10^sf for sf in [-maxSF, maxSF].
var pow10 = func() (t [2*maxSF + 1]float64) {
	for i := range t {
		t[i] = math.Pow(10, float64(i-maxSF))
	}
	return t
}()

// scaleFactor decodes a sunssf register: absent when not implemented or
// outside the range the specification allows.
func scaleFactor(r uint16) (int, bool) {
	if r == notInt16 {
		return 0, false
	}
	sf := int(int16(r))
	return sf, sf >= -maxSF && sf <= maxSF
}

// u16 scales an uint16 point.
func u16(r, sf uint16) value {
	s, ok := scaleFactor(sf)
	if r == notUint16 || !ok {
		return value{}
	}
	return value{float64(r) * pow10[s+maxSF], true}
}

// i16 scales an int16 point.
func i16(r, sf uint16) value {
	s, ok := scaleFactor(sf)
	if r == notInt16 || !ok {
		return value{}
	}
	return value{float64(int16(r)) * pow10[s+maxSF], true}
}

// u32 decodes an uint32 point held high word first.
func u32(hi, lo uint16) (uint32, bool) {
	v := uint32(hi)<<16 | uint32(lo)
	return v, v != notUint32
}

// str decodes a string point: two characters a register, high byte
// first, ended by the first NUL and trimmed. Characters outside printable
// ASCII become '?', so a device cannot smuggle control characters into
// logs.
func str(regs []uint16) string {
	b := make([]byte, 0, 2*len(regs))
	for _, r := range regs {
		b = append(b, byte(r>>8), byte(r))
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return strings.TrimSpace(string(b))
}

// rawPercent returns the register holding pct (a percentage in
// [-100, 100]) at scale factor sfReg, or an error when the scale factor
// is absent or cannot represent ±100 % in an int16.
func rawPercent(pct float64, sfReg uint16) (uint16, error) {
	s, ok := scaleFactor(sfReg)
	if !ok {
		return 0, fmt.Errorf("%w: percentage scale factor %#04x not usable", ErrBadModel, sfReg)
	}
	if math.Round(100/pow10[s+maxSF]) > math.MaxInt16 {
		return 0, fmt.Errorf("%w: percentage scale factor %d cannot hold 100 %%", ErrBadModel, s)
	}
	if math.IsNaN(pct) {
		return 0, fmt.Errorf("%w: percentage is NaN", ErrBadModel)
	}
	pct = min(max(pct, -100), 100)
	return uint16(int16(math.Round(pct / pow10[s+maxSF]))), nil
}
