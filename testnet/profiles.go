package testnet

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// Profiles is a load and PV profile read from a CSV file (`--profiles`):
// a header `time_s,load_w,pv_w`, then one row per step, time_s starting
// at 0 or more and growing by one fixed step. time_s counts seconds from
// midnight (UTC) of the run's first simulated day; the profile repeats
// with the period of its rows (a one-day file repeats daily). Every home
// scales and jitters it deterministically from the run's seed (see
// homeSources).
type Profiles struct {
	// StartS and StepS are the first row's time and the step, seconds.
	StartS, StepS float64
	// LoadW and PVW are the rows' powers.
	LoadW, PVW []gridmesh.W
	// peakPVW is the largest PV figure, meanLoadW the mean load.
	peakPVW, meanLoadW gridmesh.W
}

// Profile limits: a year at one-minute steps fits, a runaway file does
// not; a step is at least a second and at most a day. A row such as
// `31536000,12345.6,12345.6` is about 25 bytes: 64 a row bounds the file
// with room for CRLF and longer decimals.
const (
	maxProfileRows  = 600_000
	maxProfileBytes = maxProfileRows * 64
	minProfileStepS = 1.0
	maxProfileStepS = 86_400.0
)

// profileHeader is the one header a profile file has.
var profileHeader = []string{"time_s", "load_w", "pv_w"}

// ErrBadProfile is wrapped by every profile parsing error.
var ErrBadProfile = errors.New("bad profile")

// ReadProfiles reads and parses a profile file.
func ReadProfiles(path string) (*Profiles, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	defer f.Close()
	p, err := ParseProfiles(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParseProfiles parses a profile CSV strictly: the exact header, three
// decimal fields a row, no blank or extra fields, times evenly spaced,
// powers finite, non-negative and within gridmesh.MaxHomePowerW, at
// least two rows. Blank and `#` comment lines may come before the header
// and after the last row, not between rows. Every error names its line.
func ParseProfiles(r io.Reader) (*Profiles, error) {
	return parseProfiles(r, maxProfileBytes)
}

// parseProfiles is ParseProfiles reading at most limit bytes.
func parseProfiles(r io.Reader, limit int64) (*Profiles, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	p, err := readProfileRows(lr)
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBadProfile, limit)
	}
	if err != nil {
		return nil, err
	}
	if len(p.LoadW) < 2 {
		return nil, fmt.Errorf("%w: %d rows, at least 2", ErrBadProfile, len(p.LoadW))
	}
	var sum gridmesh.W
	for i := range p.LoadW {
		sum += p.LoadW[i]
		p.peakPVW = max(p.peakPVW, p.PVW[i])
	}
	p.meanLoadW = sum / gridmesh.W(len(p.LoadW))
	return p, nil
}

// readProfileRows reads the header and every row, checking each row on
// its own and its time against the step.
func readProfileRows(r io.Reader) (*Profiles, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = len(profileHeader)
	cr.ReuseRecord = true
	p := &Profiles{}
	header := false
	prevLine := 0 // the line of the previous row: a gap between rows is a blank or comment line
	var prevS float64
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, fmt.Errorf("%w: line %d: %d fields, want %d", ErrBadProfile, pe.Line, len(rec), len(profileHeader))
			}
			return nil, fmt.Errorf("%w: line %d: %w", ErrBadProfile, pe.Line, pe.Err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadProfile, err)
		}
		line, _ := cr.FieldPos(0)
		if !header {
			if !slices.Equal(rec, profileHeader) {
				return nil, fmt.Errorf("%w: line %d: header %q, want %q", ErrBadProfile, line, strings.Join(rec, ","), strings.Join(profileHeader, ","))
			}
			header, prevLine = true, line
			continue
		}
		if line != prevLine+1 {
			return nil, fmt.Errorf("%w: line %d: blank or comment line inside the data", ErrBadProfile, prevLine+1)
		}
		prevLine = line
		v, err := profileRow(rec, line)
		if err != nil {
			return nil, err
		}
		n := len(p.LoadW)
		if n >= maxProfileRows {
			return nil, fmt.Errorf("%w: line %d: more than %d rows", ErrBadProfile, line, maxProfileRows)
		}
		switch n {
		case 0:
			if v[0] > maxProfileStepS*366 {
				return nil, fmt.Errorf("%w: line %d: first time %v s beyond a year", ErrBadProfile, line, v[0])
			}
			p.StartS = v[0]
		case 1:
			p.StepS = v[0] - prevS
			if !(p.StepS >= minProfileStepS && p.StepS <= maxProfileStepS) {
				return nil, fmt.Errorf("%w: line %d: step %v s outside [%v, %v]", ErrBadProfile, line, p.StepS, minProfileStepS, maxProfileStepS)
			}
		default:
			want := p.StartS + float64(n)*p.StepS
			if math.Abs(v[0]-want) > 1e-6*max(1, want) {
				return nil, fmt.Errorf("%w: line %d: time %v s, want %v (a fixed step of %v s)", ErrBadProfile, line, v[0], want, p.StepS)
			}
		}
		prevS = v[0]
		p.LoadW = append(p.LoadW, gridmesh.W(v[1]))
		p.PVW = append(p.PVW, gridmesh.W(v[2]))
	}
	if !header {
		return nil, fmt.Errorf("%w: no header", ErrBadProfile)
	}
	return p, nil
}

// profileRow reads one row's time and powers: finite, non-negative
// decimals, the powers within gridmesh.MaxHomePowerW.
func profileRow(rec []string, line int) ([3]float64, error) {
	var v [3]float64
	for i, f := range rec {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return v, fmt.Errorf("%w: line %d: field %d %q is not a finite non-negative number", ErrBadProfile, line, i+1, f)
		}
		v[i] = x
	}
	if v[1] > float64(gridmesh.MaxHomePowerW) || v[2] > float64(gridmesh.MaxHomePowerW) {
		return v, fmt.Errorf("%w: line %d: power beyond %v", ErrBadProfile, line, gridmesh.MaxHomePowerW)
	}
	return v, nil
}

// periodS is how long the profile lasts before it repeats.
func (p *Profiles) periodS() float64 { return float64(len(p.LoadW)) * p.StepS }

// Per-home variation: each home's load is the profile times a scale of
// 0.7-1.3 (households differ by about that around a typical one), its PV
// the profile scaled to its own array's peak; both shifted by up to ±15
// minutes (orientation, habits) and jittered by ±5 % per step (the
// variation one home's minute shows against an average), all drawn from
// the run's seed and the home's index.
const (
	profileScaleMin, profileScaleSpan = 0.7, 0.6
	profileShiftMaxS                  = 15 * 60
	profileJitter                     = 0.05
)

// profileSource is one home's view of one column of the profile.
type profileSource struct {
	p      *Profiles
	col    []gridmesh.W
	origin time.Time // midnight UTC of the first simulated day
	scale  float64
	shiftS float64
	seed   uint64
}

// PowerAt interpolates the column at t, shifted, scaled and jittered.
func (s profileSource) PowerAt(t time.Time) gridmesh.W {
	x := t.Sub(s.origin).Seconds() + s.shiftS - s.p.StartS
	period := s.p.periodS()
	x = math.Mod(x, period)
	if x < 0 {
		x += period
	}
	pos := x / s.p.StepS
	i := int(pos)
	n := len(s.col)
	i = min(max(i, 0), n-1)
	frac := pos - float64(i)
	w := float64(s.col[i])*(1-frac) + float64(s.col[(i+1)%n])*frac
	step := uint64(math.Floor((t.Sub(s.origin).Seconds() + s.shiftS) / s.p.StepS))
	j := 1 + profileJitter*(2*unitHash(s.seed, step)-1)
	return gridmesh.W(w * s.scale * j)
}

// homeSources returns home i's load and PV sources for a run with seed,
// starting its simulated time at simStart, whose array peaks at pvPeakW.
func (p *Profiles) homeSources(seed int64, i int, simStart time.Time, pvPeakW gridmesh.W) (load, pv sim.PowerSource) {
	base := splitmix(uint64(seed)*0x9e3779b97f4a7c15 + uint64(i) + 1)
	origin := simStart.UTC().Truncate(24 * time.Hour)
	shift := (2*unitHash(base, 1) - 1) * profileShiftMaxS
	ls := profileSource{p: p, col: p.LoadW, origin: origin, shiftS: shift, seed: splitmix(base ^ 2),
		scale: profileScaleMin + profileScaleSpan*unitHash(base, 3)}
	pvScale := 0.0
	if p.peakPVW > 0 {
		pvScale = float64(pvPeakW / p.peakPVW)
	}
	ps := profileSource{p: p, col: p.PVW, origin: origin, shiftS: shift, seed: splitmix(base ^ 4), scale: pvScale}
	return ls, ps
}

// splitmix is SplitMix64's finalizer: a fast, well-mixed hash.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unitHash maps (seed, n) to [0, 1).
func unitHash(seed, n uint64) float64 {
	return float64(splitmix(seed^splitmix(n))>>11) / (1 << 53)
}
