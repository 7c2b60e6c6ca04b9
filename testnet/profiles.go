package testnet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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
// not; a step is at least a second and at most a day.
const (
	maxProfileRows  = 600_000
	maxProfileLine  = 256
	minProfileStepS = 1.0
	maxProfileStepS = 86_400.0
)

// ErrBadProfile is wrapped by every profile parsing error.
var ErrBadProfile = errors.New("bad profile")

// ReadProfiles reads and parses a profile file.
func ReadProfiles(path string) (*Profiles, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	p, err := ParseProfiles(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParseProfiles parses a profile CSV strictly: the exact header, three
// decimal fields a row, no blank or extra fields, times evenly spaced,
// powers finite, non-negative and within gridmesh.MaxHomePowerW, at
// least two rows. Blank lines at the end are allowed; `#` comment lines
// before the header too. Every error names its line.
func ParseProfiles(r io.Reader) (*Profiles, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxProfileLine), maxProfileLine)
	p := &Profiles{}
	line, header, blankAt := 0, false, 0
	var prevS float64
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			if blankAt == 0 {
				blankAt = line
			}
			continue
		}
		if blankAt != 0 {
			return nil, fmt.Errorf("%w: line %d: blank line inside the data", ErrBadProfile, blankAt)
		}
		if !header {
			if strings.HasPrefix(text, "#") {
				continue
			}
			if text != "time_s,load_w,pv_w" {
				return nil, fmt.Errorf("%w: line %d: header %q, want \"time_s,load_w,pv_w\"", ErrBadProfile, line, text)
			}
			header = true
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != 3 {
			return nil, fmt.Errorf("%w: line %d: %d fields, want 3", ErrBadProfile, line, len(fields))
		}
		var v [3]float64
		for i, f := range fields {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				return nil, fmt.Errorf("%w: line %d: field %d %q is not a finite non-negative number", ErrBadProfile, line, i+1, f)
			}
			v[i] = x
		}
		if v[1] > float64(gridmesh.MaxHomePowerW) || v[2] > float64(gridmesh.MaxHomePowerW) {
			return nil, fmt.Errorf("%w: line %d: power beyond %v", ErrBadProfile, line, gridmesh.MaxHomePowerW)
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
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %w", ErrBadProfile, line+1, err)
	}
	if !header {
		return nil, fmt.Errorf("%w: no header", ErrBadProfile)
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
