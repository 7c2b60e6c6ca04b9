package control

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// A history summary carries an island's forecast history across a change
// of leader: the leader commits one to its group's log every few minutes
// (node), and a new leader forecasts from it at once rather than guess
// until it has watched a day of its own. It holds the newest
// SummaryDays of samples, each its time and the two powers:
//
//	byte 0: summaryVersion
//	bytes 1-2: n, big-endian, at most MaxSummarySamples
//	n × (8 bytes Unix ms, big-endian; 4 bytes load W and 4 bytes PV W,
//	     IEEE float32, big-endian)
//
// float32 keeps a watt to better than 1 in 10⁷: far below a forecast's
// error.

// SummaryDays is the history a summary carries: the days the rationing's
// critical load forecast averages (rationHistoryDays).
const SummaryDays = rationHistoryDays

// MaxSummarySamples bounds a summary: SummaryDays of HistoryStep samples.
const MaxSummarySamples = SummaryDays * int(24*time.Hour/HistoryStep)

// MaxSummaryBytes is the most bytes a summary takes (4,611 bytes).
const MaxSummaryBytes = 3 + MaxSummarySamples*summarySampleBytes

const (
	summaryVersion     = 1
	summarySampleBytes = 16
)

// ErrBadSummary is wrapped by every history summary decoding error.
var ErrBadSummary = errors.New("control: bad history summary")

// EncodeSummary returns the summary of h: its newest SummaryDays of
// samples (at most MaxSummarySamples).
func EncodeSummary(h *ForecastHistory) []byte {
	n := min(len(h.Load), len(h.PV), MaxSummarySamples)
	load, pv := h.Load[len(h.Load)-n:], h.PV[len(h.PV)-n:]
	b := make([]byte, 3, 3+n*summarySampleBytes)
	b[0] = summaryVersion
	binary.BigEndian.PutUint16(b[1:], uint16(n))
	for i := range n {
		b = binary.BigEndian.AppendUint64(b, uint64(load[i].AtMs))
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(float32(load[i].W)))
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(float32(pv[i].W)))
	}
	return b
}

// DecodeSummary parses a summary. It refuses another version, a length
// that does not match its count, a count above MaxSummarySamples, times
// not strictly increasing, and powers not finite, negative or beyond
// gridmesh.MaxNeighborhoodPowerW.
func DecodeSummary(b []byte) (ForecastHistory, error) {
	if len(b) < 3 || b[0] != summaryVersion {
		return ForecastHistory{}, fmt.Errorf("%w: %d bytes, not version %d", ErrBadSummary, len(b), summaryVersion)
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	if n > MaxSummarySamples || len(b) != 3+n*summarySampleBytes {
		return ForecastHistory{}, fmt.Errorf("%w: %d samples in %d bytes (at most %d)", ErrBadSummary, n, len(b), MaxSummarySamples)
	}
	h := ForecastHistory{Load: make([]Sample, n), PV: make([]Sample, n)}
	for i := range n {
		s := b[3+i*summarySampleBytes:]
		at := int64(binary.BigEndian.Uint64(s))
		load := gridmesh.W(math.Float32frombits(binary.BigEndian.Uint32(s[8:])))
		pv := gridmesh.W(math.Float32frombits(binary.BigEndian.Uint32(s[12:])))
		if i > 0 && at <= h.Load[i-1].AtMs {
			return ForecastHistory{}, fmt.Errorf("%w: sample %d not after the one before", ErrBadSummary, i)
		}
		for _, w := range []gridmesh.W{load, pv} {
			if !w.Finite() || w < 0 || w > gridmesh.MaxNeighborhoodPowerW {
				return ForecastHistory{}, fmt.Errorf("%w: sample %d: power %v", ErrBadSummary, i, w)
			}
		}
		h.Load[i], h.PV[i] = Sample{AtMs: at, W: load}, Sample{AtMs: at, W: pv}
	}
	return h, nil
}

// Adopt makes h the longer of itself and from (a summary a previous
// leader committed) followed by h's own samples newer than from's last:
// a new leader forecasts from what the old one watched, and what it has
// watched itself since follows on. The merge, not from alone, is what
// is compared with h: a new leader that recorded one sample before it
// adopted a summary of one older sample takes both. Adopting the same
// summary again changes nothing.
func (h *ForecastHistory) Adopt(from ForecastHistory) {
	if len(from.Load) == 0 || len(from.Load) != len(from.PV) {
		return
	}
	last := from.Load[len(from.Load)-1].AtMs
	load, pv := append([]Sample(nil), from.Load...), append([]Sample(nil), from.PV...)
	for i, s := range h.Load {
		if s.AtMs > last && i < len(h.PV) {
			load, pv = append(load, s), append(pv, h.PV[i])
		}
	}
	if len(load) <= len(h.Load) {
		return
	}
	if len(load) > historyLen {
		load, pv = load[len(load)-historyLen:], pv[len(pv)-historyLen:]
	}
	h.Load, h.PV = load, pv
}
