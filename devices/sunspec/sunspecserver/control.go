package sunspecserver

import (
	"math"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/gridmesh/gridmesh"
)

// Scale factors of the writable percentages the server serves.
const (
	// rateSF is 124's InOutWRte_SF: hundredths of a percent, so a rate
	// resolves 0.5 W of a 5 kW battery.
	rateSF     = -2
	pct100Rate = 10_000
	// limSF is 123's and 704's WMaxLimPct_SF: tenths of a percent.
	limSF     = -1
	pct100Lim = 1_000
)

// StorCtl_Mod bits.
const (
	modCharge    = 1 << 0
	modDischarge = 1 << 1
)

// batteryControl is model 124's writable state.
type batteryControl struct {
	mod     uint16    // StorCtl_Mod
	in, out int16     // InWRte, OutWRte at rateSF
	rvrt    uint16    // InOutWRte_RvrtTms, seconds; 0: no reversion
	pending bool      // written since the last reversion
	last    time.Time // last write
}

// idleBattery is 124 under no setpoint: no limit in force, both rates at
// 100 %.
func idleBattery(rvrt uint16) batteryControl {
	return batteryControl{in: pct100Rate, out: pct100Rate, rvrt: rvrt}
}

// pvControl is the output limit, written through 123 or 704.
type pvControl struct {
	ena     bool   // WMaxLim_Ena, WMaxLimPctEna
	pct     uint16 // WMaxLimPct at limSF
	rvrt    uint32 // reversion time, seconds; 0: no reversion
	enaRvrt bool   // 704's WMaxLimPctEnaRvrt: the limit after reversion
	pctRvrt uint16 // 704's WMaxLimPctRvrt
	pending bool
	last    time.Time
}

// write checks a write of args at register index lo whole, then applies
// it: a register outside the writable points is an illegal address, a
// value out of range an illegal value, and either changes nothing.
func (s *Server) write(lo int, args []uint16, now time.Time) error {
	bat, pv := s.bat, s.pv
	var batWritten, pvWritten bool
	for i, v := range args {
		m, off, ok := s.locate(lo + i)
		if !ok {
			return modbus.ErrIllegalDataAddress
		}
		var err error
		switch m.id {
		case modelStorage:
			err, batWritten = bat.set(off, v), true
		case modelControls:
			err, pvWritten = pv.set123(off, v), true
		case modelDERControls:
			err, pvWritten = pv.set704(off, v), true
		default:
			err = modbus.ErrIllegalDataAddress
		}
		if err != nil {
			return err
		}
	}
	if batWritten {
		bat.pending, bat.last = true, now
		s.bat = bat
	}
	if pvWritten {
		pv.pending, pv.last = true, now
		s.pv = pv
	}
	return nil
}

func (b *batteryControl) set(off int, v uint16) error {
	switch off {
	case 5: // StorCtl_Mod
		if v > modCharge|modDischarge {
			return modbus.ErrIllegalDataValue
		}
		b.mod = v
	case 12, 13: // OutWRte, InWRte
		r := int16(v)
		if r < -pct100Rate || r > pct100Rate {
			return modbus.ErrIllegalDataValue
		}
		if off == 12 {
			b.out = r
		} else {
			b.in = r
		}
	case 14, 16: // InOutWRte_WinTms, _RmpTms: accepted; changes apply at once
	case 15: // InOutWRte_RvrtTms
		if v == 0xFFFF {
			return modbus.ErrIllegalDataValue
		}
		b.rvrt = v
	default:
		return modbus.ErrIllegalDataAddress
	}
	return nil
}

func (p *pvControl) set123(off int, v uint16) error {
	switch off {
	case 5: // WMaxLimPct
		if v > pct100Lim {
			return modbus.ErrIllegalDataValue
		}
		p.pct = v
	case 6, 8: // WMaxLimPct_WinTms, _RmpTms: accepted; changes apply at once
	case 7: // WMaxLimPct_RvrtTms
		if v == 0xFFFF {
			return modbus.ErrIllegalDataValue
		}
		p.rvrt = uint32(v)
	case 9: // WMaxLim_Ena
		if v > 1 {
			return modbus.ErrIllegalDataValue
		}
		p.ena = v == 1
	default:
		return modbus.ErrIllegalDataAddress
	}
	return nil
}

func (p *pvControl) set704(off int, v uint16) error {
	switch off {
	case 14, 17: // WMaxLimPctEna, WMaxLimPctEnaRvrt
		if v > 1 {
			return modbus.ErrIllegalDataValue
		}
		if off == 14 {
			p.ena = v == 1
		} else {
			p.enaRvrt = v == 1
		}
	case 15, 16: // WMaxLimPct, WMaxLimPctRvrt
		if v > pct100Lim {
			return modbus.ErrIllegalDataValue
		}
		if off == 15 {
			p.pct = v
		} else {
			p.pctRvrt = v
		}
	case 18: // WMaxLimPctRvrtTms, high word
		p.rvrt = uint32(v)<<16 | p.rvrt&0xFFFF
	case 19: // low word
		p.rvrt = p.rvrt&0xFFFF0000 | uint32(v)
	default:
		return modbus.ErrIllegalDataAddress
	}
	return nil
}

// step reverts setpoints whose reversion time has passed, then steers the
// devices: the battery to the fallback within the window 124 sets, the PV
// inverter to the limit in force. The caller holds s.mu.
func (s *Server) step(now time.Time) {
	if b := s.bat; b.pending && b.rvrt > 0 && now.Sub(b.last) >= time.Duration(b.rvrt)*time.Second {
		s.bat = idleBattery(b.rvrt)
		s.log.Info("battery setpoint reverted: no write within the reversion time", "rvrt_s", b.rvrt)
	}
	if p := s.pv; p.pending && p.rvrt > 0 && now.Sub(p.last) >= time.Duration(p.rvrt)*time.Second {
		s.pv.ena, s.pv.pct, s.pv.pending = p.enaRvrt, p.pctRvrt, false
		s.log.Info("PV limit reverted: no write within the reversion time", "rvrt_s", p.rvrt)
	}
	if s.dev.Battery != nil {
		s.steerBattery()
	}
	if s.dev.PV != nil {
		s.steerPV()
	}
}

// batteryTarget is the fallback's power clamped to the window 124 sets:
// with StorCtl_Mod's CHARGE bit the charge power is at most InWRte % of
// WChaMax, with its DISCHARGE bit the discharge power at most OutWRte %
// (both of WChaMax, as common hybrid inverters read them). A negative
// rate forces the other direction, so InWRte = p and OutWRte = -p hold
// the battery at p % charging. A window that is empty (lower bound above
// the upper) holds its midpoint. A server that reads the rates as the
// setpoint (RatesNet) holds InWRte less OutWRte, of the bits set.
func (s *Server) batteryTarget() (gridmesh.W, error) {
	var base gridmesh.W
	if s.cfg.Fallback == FallbackSelfConsumption && s.dev.Meter != nil {
		m, err := s.dev.Meter.Meter()
		if err != nil {
			return 0, err
		}
		f, err := s.dev.Battery.Battery()
		if err != nil {
			return 0, err
		}
		base = f.PowerW - m.NetW // the battery power that brings the meter to 0
	}
	wMax := s.cfg.BatteryMaxChargeW
	if s.cfg.StorageRates == RatesNet && s.bat.mod != 0 {
		var t gridmesh.W
		if s.bat.mod&modCharge != 0 {
			t += wMax * gridmesh.W(s.bat.in) / pct100Rate
		}
		if s.bat.mod&modDischarge != 0 {
			t -= wMax * gridmesh.W(s.bat.out) / pct100Rate
		}
		return t.Clamp(-s.cfg.BatteryMaxDischargeW, s.cfg.BatteryMaxChargeW), nil
	}
	lo, hi := -s.cfg.BatteryMaxDischargeW, s.cfg.BatteryMaxChargeW
	if s.bat.mod&modCharge != 0 {
		hi = wMax * gridmesh.W(s.bat.in) / pct100Rate
	}
	if s.bat.mod&modDischarge != 0 {
		lo = -wMax * gridmesh.W(s.bat.out) / pct100Rate
	}
	t := base.Clamp(min(lo, hi), max(lo, hi))
	if lo > hi {
		t = (lo + hi) / 2
	}
	return t.Clamp(-s.cfg.BatteryMaxDischargeW, s.cfg.BatteryMaxChargeW), nil
}

// minCommandStepW is the smallest change worth a new battery command: the
// fallback's target follows every watt of load otherwise.
const minCommandStepW = 1

func (s *Server) steerBattery() {
	t, err := s.batteryTarget()
	if err != nil {
		s.log.Debug("battery not steered", "err", err)
		return
	}
	if s.batSent != nil && math.Abs(float64(t-*s.batSent)) < minCommandStepW {
		return
	}
	if err := s.dev.Battery.SetBatteryPower(t); err != nil {
		s.log.Warn("battery command failed", "w", t, "err", err)
		return
	}
	s.batSent = &t
}

func (s *Server) steerPV() {
	if s.peakW <= 0 {
		st, err := s.dev.PV.PV()
		if err != nil {
			s.log.Debug("PV not steered", "err", err)
			return
		}
		s.peakW = st.PeakW
	}
	limit := s.peakW
	if s.pv.ena {
		limit = s.peakW * gridmesh.W(s.pv.pct) / pct100Lim
	}
	if s.pvSent != nil && *s.pvSent == limit {
		return
	}
	if err := s.dev.PV.SetPVLimit(limit); err != nil {
		s.log.Warn("PV limit failed", "w", limit, "err", err)
		return
	}
	s.pvSent = &limit
}
