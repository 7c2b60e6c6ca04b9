package homefile

import (
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// battery is the hardware as sim has it; the noise is seeded by the
// home's seed.
func (hw *SimHardware) battery(seed uint64) sim.BatteryHardware {
	if hw == nil {
		return sim.BatteryHardware{}
	}
	return sim.BatteryHardware{RampWPerS: gridmesh.W(hw.RampPerS), ReactionDelay: time.Duration(hw.ReactionDelay),
		NoiseW: gridmesh.W(hw.Noise), NoiseSeed: seed, HidesPower: hw.HidesPower}
}

// apply sets what the sim block says of the battery (and where it
// starts), the PV array and the load on the parameters given; nil ones
// are skipped.
func (s *Sim) apply(b *sim.BatteryParams, initialSoC *float64, pv *sim.PVParams, l *sim.LoadParams) {
	if sb := s.Battery; sb != nil && b != nil {
		b.CapacityWh, b.MaxChargeW, b.MaxDischargeW = gridmesh.Wh(sb.Capacity), gridmesh.W(sb.MaxCharge), gridmesh.W(sb.MaxDischg)
		if sb.Efficiency > 0 {
			b.RoundTripEfficiency = float64(sb.Efficiency)
		}
		if sb.InitialSoC > 0 {
			*initialSoC = float64(sb.InitialSoC)
		}
		b.ReserveSoC = float64(sb.Reserve)
		b.Hardware = sb.Hardware.battery(s.Seed)
	}
	if sp := s.PV; sp != nil && pv != nil {
		pv.PeakW = gridmesh.W(sp.Peak)
	}
	if sl := s.Load; sl != nil && l != nil {
		l.BaseW, l.EveningPeakW = gridmesh.W(sl.Base), gridmesh.W(sl.EveningPeak)
		if sl.Critical > 0 {
			l.SheddableShare = 1 - float64(sl.Critical)
		}
	}
}

// SimHome returns base with what the home file's sim device says of its
// battery (hardware included), PV array and load: the home `gridmesh
// devices` serves over SunSpec or MQTT for a home file's sim device, so a
// device's manners are reproduced from a file.
func (s *Sim) SimHome(base sim.HomeParams) sim.HomeParams {
	s.apply(&base.Battery, &base.InitialSoC, &base.PV, &base.Load)
	if s.Seed != 0 {
		base.Load.Seed = s.Seed
	}
	return base
}
