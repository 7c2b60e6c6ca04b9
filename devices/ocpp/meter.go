package ocpp

import (
	"strconv"
	"strings"

	"github.com/gridmesh/gridmesh"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

// sample is what one MeterValue says of the charger's output.
type sample struct {
	powerW    gridmesh.W // charging power, from Power.Active.Import or from Current.Import
	hasPower  bool
	energyWh  float64 // Energy.Active.Import.Register
	hasEnergy bool
}

// maxEnergyWh bounds a plausible energy register: a billion kWh, far above
// what any charger meters in its life; larger is garbage.
const maxEnergyWh = 1e12

// decodeSamples reads a MeterValue's sampled values. The power is
// Power.Active.Import (W or kW; a total, else the sum of its phases);
// where the charger reports only Current.Import, the current times the
// voltage (e's) summed over the phases reported, a current without a
// phase being taken as on each of e's phases. The energy is
// Energy.Active.Import.Register (Wh or kWh; OCPP 1.6's default measurand
// and unit). Values signed (Format SignedData), measured at the car
// (Location EV) or in the charger's body, negative, not numbers or out of
// range are ignored.
func decodeSamples(vs []types.SampledValue, e electrical) sample {
	var s sample
	var power, current phased
	for _, v := range vs {
		x, ok := valueOf(v)
		if !ok {
			continue
		}
		switch measurandOf(v) {
		case types.MeasurandPowerActiveImport:
			if w, ok := scaled(x, v.Unit, types.UnitOfMeasureW, types.UnitOfMeasureKW); ok {
				power.add(v.Phase, w)
			}
		case types.MeasurandCurrentImport:
			if v.Unit == "" || v.Unit == types.UnitOfMeasureA {
				current.add(v.Phase, x)
			}
		case types.MeasurandEnergyActiveImportRegister:
			if wh, ok := scaled(x, v.Unit, types.UnitOfMeasureWh, types.UnitOfMeasureKWh); ok && v.Phase == "" && wh <= maxEnergyWh {
				s.energyWh, s.hasEnergy = wh, true
			}
		}
	}
	if w, ok := power.sum(1); ok {
		s.powerW, s.hasPower = gridmesh.W(w), true
	} else if a, ok := current.sum(float64(e.phases)); ok {
		s.powerW, s.hasPower = gridmesh.W(a*e.voltageV), true
	}
	if s.hasPower && !(s.powerW <= gridmesh.MaxHomePowerW) {
		s.powerW, s.hasPower = 0, false
	}
	return s
}

// valueOf is v's number, if v is a plain reading a driver may use.
func valueOf(v types.SampledValue) (float64, bool) {
	if v.Format == types.ValueFormatSignedData || v.Location == types.LocationEV || v.Location == types.LocationBody {
		return 0, false
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(v.Value), 64)
	if err != nil || !finite(x) || x < 0 {
		return 0, false
	}
	return x, true
}

// measurandOf is v's measurand, OCPP 1.6's default when absent.
func measurandOf(v types.SampledValue) types.Measurand {
	if v.Measurand == "" {
		return types.MeasurandEnergyActiveImportRegister
	}
	return v.Measurand
}

// scaled converts x in unit u to the base unit, which is the default when
// u is absent; kilo is the base unit's thousandfold.
func scaled(x float64, u, base, kilo types.UnitOfMeasure) (float64, bool) {
	switch u {
	case "", base:
		return x, true
	case kilo:
		return x * 1000, true
	}
	return 0, false
}

// phased collects one quantity reported as a total or per phase.
type phased struct {
	total, perPhase float64
	hasTotal        bool
	phases          int
}

// add takes a value of phase p: none is the total; L1, L2, L3 (to
// neutral or not) are phases; the neutral and phase-to-phase figures
// are not part of a sum.
func (q *phased) add(p types.Phase, x float64) {
	switch p {
	case "":
		q.total, q.hasTotal = x, true
	case types.PhaseL1, types.PhaseL2, types.PhaseL3, types.PhaseL1N, types.PhaseL2N, types.PhaseL3N:
		q.perPhase += x
		q.phases++
	}
}

// sum is the total, times n (how many phases a phase-less figure
// stands for), else the sum of the phases.
func (q phased) sum(n float64) (float64, bool) {
	switch {
	case q.hasTotal:
		return q.total * n, true
	case q.phases > 0:
		return q.perPhase, true
	}
	return 0, false
}
