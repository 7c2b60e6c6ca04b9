package sunspecserver

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// Rendering the devices into the models' registers, at the offsets of the
// SunSpec model definitions (b[0] is a model's ID register). Points the
// server does not model hold their not-implemented value.

// Not-implemented values.
const (
	nI16 uint16 = 0x8000 // int16, sunssf
	nU16 uint16 = 0xFFFF // uint16, enum16, bitfield16
)

// Fixed scale factors (see also rateSF, limSF).
const (
	vSF   = -1 // voltages in tenths of a volt
	aSF   = -1 // currents in tenths of an amp
	hzSF  = -2 // frequency in hundredths of a hertz
	socSF = -1 // state of charge in tenths of a percent
	// whSF: capacities in tens of Wh, so a 13.5 kWh battery is 1350 and
	// a positive scale factor is exercised too.
	whSF = 1
)

// batteryNominalV is the battery's DC voltage for 802's V, A and AHRtg: a
// 16-cell LFP pack, the common low-voltage home battery.
const batteryNominalV = 51.2

// reading is what the devices measure at one instant.
type reading struct {
	flex  gridmesh.Flexibility
	meter gridmesh.MeterReading
	pv    gridmesh.PVState
}

// render reads the devices and renders every served model. The caller
// holds s.mu.
func (s *Server) render() error {
	var r reading
	var err error
	if s.dev.Battery != nil {
		if r.flex, err = s.dev.Battery.Battery(); err != nil {
			return err
		}
	}
	r.meter = gridmesh.MeterReading{VoltageV: 230, FrequencyHz: 50, GridOK: true} // nominal without a meter
	if s.dev.Meter != nil {
		if r.meter, err = s.dev.Meter.Meter(); err != nil {
			return err
		}
	}
	if s.dev.PV != nil {
		if r.pv, err = s.dev.PV.PV(); err != nil {
			return err
		}
		s.peakW = r.pv.PeakW
	}
	for _, m := range s.chain {
		b := s.regs[m.at : m.at+2+m.len]
		switch m.id {
		case modelCommon:
			s.renderCommon(b)
		case modelNameplate:
			s.renderNameplate(b, r)
		case modelInverter:
			s.renderInverter(b, r)
		case modelControls:
			s.renderControls(b)
		case modelStorage:
			s.renderStorage(b, r)
		case modelBattery:
			s.renderBattery(b, r)
		case modelDERControls:
			s.renderDERControls(b)
		case modelMeter:
			renderMeter(b, r)
		case modelMPPT:
			renderMPPT(b, r)
		}
	}
	return nil
}

func (s *Server) renderCommon(b []uint16) {
	putString(b[2:18], s.cfg.Manufacturer)
	putString(b[18:34], s.cfg.Model)
	putString(b[34:42], "")
	putString(b[42:50], "1.0")
	putString(b[50:66], s.cfg.Serial)
	b[66], b[67] = uint16(s.cfg.UnitID), nI16
}

func (s *Server) renderNameplate(b []uint16, r reading) {
	fill(b[2:], nU16)
	b[2] = 4 // DERTyp PV
	peak := r.pv.PeakW
	if s.dev.Battery != nil {
		b[2] = 82 // PV_STOR
		if s.dev.PV == nil {
			peak = max(s.cfg.BatteryMaxChargeW, s.cfg.BatteryMaxDischargeW)
		}
	}
	b[3], b[4] = scaleU(float64(peak), 0), sfReg(0) // WRtg
	b[5], b[6] = scaleU(float64(peak), 0), sfReg(0) // VARtg
	b[7], b[8], b[9], b[10], b[11] = nI16, nI16, nI16, nI16, nI16
	b[13] = nI16
	b[14], b[15], b[16], b[17], b[18] = nI16, nI16, nI16, nI16, nI16
	b[20], b[22], b[24], b[26], b[27] = nI16, nI16, nI16, nI16, nI16
	if s.dev.Battery != nil {
		b[19], b[20] = scaleU(float64(r.flex.CapacityWh), whSF), sfReg(whSF)    // WHRtg
		b[23], b[24] = scaleU(float64(s.cfg.BatteryMaxChargeW), 0), sfReg(0)    // MaxChaRte
		b[25], b[26] = scaleU(float64(s.cfg.BatteryMaxDischargeW), 0), sfReg(0) // MaxDisChaRte
	}
}

// renderInverter renders 103. Its W is the AC output, in SunSpec's
// generator sign: PV production less what the battery takes in.
func (s *Server) renderInverter(b []uint16, r reading) {
	fill(b[2:], 0)
	ac := float64(r.pv.PowerW - r.flex.PowerW)
	v := r.meter.VoltageV
	a := 0.0
	if v > 0 {
		a = math.Abs(ac) / v / 3
	}
	b[2], b[3], b[4], b[5], b[6] = scaleU(3*a, aSF), scaleU(a, aSF), scaleU(a, aSF), scaleU(a, aSF), sfReg(aSF)
	b[7], b[8], b[9] = nU16, nU16, nU16
	b[10], b[11], b[12], b[13] = scaleU(v, vSF), scaleU(v, vSF), scaleU(v, vSF), sfReg(vSF)
	wSF := fitSF(ac)
	b[14], b[15] = scaleI(ac, wSF), sfReg(wSF)
	b[16], b[17] = scaleU(r.meter.FrequencyHz, hzSF), sfReg(hzSF)
	b[18], b[19] = scaleI(math.Abs(ac), wSF), sfReg(wSF) // VA: unity power factor
	b[20], b[21] = 0, sfReg(wSF)                         // VAr
	b[22], b[23] = nI16, nI16                            // PF
	// WH (acc32) stays 0: not accumulated. DC current and voltage:
	b[26], b[27], b[28], b[29], b[30] = sfReg(0), nU16, nI16, nU16, nI16
	pvSF := fitSF(float64(r.pv.PowerW))
	b[31], b[32] = scaleI(float64(r.pv.PowerW), pvSF), sfReg(pvSF) // DCW
	b[33], b[34], b[35], b[36], b[37] = nI16, nI16, nI16, nI16, nI16
	b[38] = 2 // SLEEPING
	if r.pv.PowerW > 0 {
		b[38] = 4 // MPPT
		if r.pv.LimitW < r.pv.PeakW && r.pv.AvailableW > r.pv.LimitW {
			b[38] = 5 // THROTTLED
		}
	}
	b[39] = nU16 // StVnd; Evt1, Evt2 and the vendor events stay 0
}

func (s *Server) renderControls(b []uint16) {
	fill(b[2:], 0)
	b[4] = 1 // Conn: CONNECT
	b[5], b[7], b[9] = s.pv.pct, uint16(min(s.pv.rvrt, 0xFFFE)), enable(s.pv.ena)
	b[10] = 1000 // OutPFSet: 1.000
	b[15], b[16], b[17], b[21] = nI16, nI16, nI16, nU16
	b[23], b[24], b[25] = sfReg(limSF), sfReg(-3), nI16
}

func (s *Server) renderStorage(b []uint16, r reading) {
	fill(b[2:], nU16)
	b[2], b[3], b[4] = scaleU(float64(s.cfg.BatteryMaxChargeW), 0), 100, 100 // WChaMax; gradients 100 %/s
	b[5] = s.bat.mod
	b[7] = scaleU(s.cfg.BatteryReserveSoC*100, socSF) // MinRsvPct
	b[8] = scaleU(r.flex.SoC*100, socSF)              // ChaState
	b[11] = chaSt(r.flex)
	b[12], b[13] = uint16(s.bat.out), uint16(s.bat.in)
	b[14], b[15], b[16] = 0, s.bat.rvrt, 0
	b[17] = 1 // ChaGriSet: GRID
	b[18], b[19], b[20], b[21] = sfReg(0), sfReg(0), nI16, sfReg(socSF)
	b[22], b[23], b[24], b[25] = sfReg(socSF), nI16, nI16, sfReg(rateSF)
}

// renderBattery renders 802. Its W and A are in SunSpec's generator
// sign: positive discharging.
func (s *Server) renderBattery(b []uint16, r reading) {
	fill(b[2:], nU16)
	capWh := float64(r.flex.CapacityWh)
	b[2] = scaleU(capWh/batteryNominalV, 0) // AHRtg
	b[3] = scaleU(capWh, whSF)              // WHRtg
	b[4], b[5] = scaleU(float64(s.cfg.BatteryMaxChargeW), 0), scaleU(float64(s.cfg.BatteryMaxDischargeW), 0)
	b[7], b[8] = scaleU(100, socSF), 0 // SoCMax, SoCMin
	b[11] = scaleU(r.flex.SoC*100, socSF)
	b[16] = chaSt(r.flex)
	b[17] = 0                                                                       // LocRemCtl: REMOTE
	b[20], b[21], b[22] = 0, 4, 3                                                   // AlmRst; Typ: LITHIUM_ION; State: CONNECTED
	b[26], b[27], b[28], b[29], b[30], b[31], b[32], b[33] = 0, 0, 0, 0, 0, 0, 0, 0 // events
	w := -float64(r.flex.PowerW)
	b[34] = scaleU(batteryNominalV, vSF)
	b[44] = scaleI(w/batteryNominalV, aSF)
	wSF := fitSF(w)
	b[47], b[49] = scaleI(w, wSF), nI16
	b[50], b[51] = 1, 1 // SetOp: CONNECT; SetInvState
	b[52], b[53], b[54], b[55] = sfReg(0), sfReg(whSF), sfReg(0), nI16
	b[56], b[57], b[58], b[59] = sfReg(socSF), nI16, nI16, sfReg(vSF)
	b[60], b[61], b[62], b[63] = nI16, sfReg(aSF), nI16, sfReg(wSF)
}

func (s *Server) renderDERControls(b []uint16) {
	fill(b[2:], 0)
	p := s.pv
	b[14], b[15], b[16], b[17] = enable(p.ena), p.pct, p.pctRvrt, enable(p.enaRvrt)
	b[18], b[19] = uint16(p.rvrt>>16), uint16(p.rvrt)
	if p.pending && p.rvrt > 0 {
		// WMaxLimPctRvrtRem counts down from the last write.
		rem := max(int64(p.rvrt)-int64(time.Since(p.last).Seconds()), 0)
		b[20], b[21] = uint16(rem>>16), uint16(rem)
	}
	b[49], b[50], b[51], b[52] = nU16, nU16, nU16, nU16
	b[53], b[54], b[55], b[56], b[57], b[58] = sfReg(-3), sfReg(limSF), sfReg(0), sfReg(limSF), sfReg(0), sfReg(limSF)
	fill(b[59:], nU16)
}

// renderMeter renders 203 from the meter. Its W is the import.
func renderMeter(b []uint16, r reading) {
	fill(b[2:], nI16)
	m := r.meter
	if m.VoltageV > 0 {
		b[2] = scaleI(math.Abs(float64(m.NetW))/m.VoltageV, aSF)
	}
	b[6] = sfReg(aSF)
	b[7], b[8], b[9], b[10], b[15] = scaleI(m.VoltageV, vSF), scaleI(m.VoltageV, vSF), scaleI(m.VoltageV, vSF), scaleI(m.VoltageV, vSF), sfReg(vSF)
	b[16], b[17] = scaleI(m.FrequencyHz, hzSF), sfReg(hzSF)
	wSF := fitSF(float64(m.NetW))
	b[18], b[22] = scaleI(float64(m.NetW), wSF), sfReg(wSF)
	b[23], b[27] = scaleI(math.Abs(float64(m.NetW)), wSF), sfReg(wSF)
	b[28], b[32] = 0, sfReg(wSF)
	fill(b[38:54], 0) // energy counters (acc32): 0, not accumulated
	b[54] = sfReg(0)
	fill(b[55:71], 0)
	fill(b[72:104], 0)
	b[105], b[106] = 0, 0 // Evt
}

// chaSt is 124's and 802's charge status.
func chaSt(f gridmesh.Flexibility) uint16 {
	switch {
	case f.MaxW == 0:
		return 5 // FULL
	case f.MinW == 0:
		return 2 // EMPTY
	case f.PowerW > 0:
		return 4 // CHARGING
	case f.PowerW < 0:
		return 3 // DISCHARGING
	}
	return 6 // HOLDING
}

func fill(b []uint16, v uint16) {
	for i := range b {
		b[i] = v
	}
}

func enable(on bool) uint16 {
	if on {
		return 1
	}
	return 0
}

func sfReg(sf int) uint16 { return uint16(int16(sf)) }

// scaleU encodes v as an uint16 point at scale factor sf, saturating.
func scaleU(v float64, sf int) uint16 {
	x := math.Round(v / math.Pow10(sf))
	if math.IsNaN(x) {
		return nU16
	}
	return uint16(min(max(x, 0), 0xFFFE))
}

// scaleI encodes v as an int16 point at scale factor sf, saturating.
func scaleI(v float64, sf int) uint16 {
	x := math.Round(v / math.Pow10(sf))
	if math.IsNaN(x) {
		return nI16
	}
	return uint16(int16(min(max(x, -math.MaxInt16), math.MaxInt16)))
}

// fitSF is the smallest non-negative scale factor that fits v in an
// int16: powers up to 32.7 kW are served to the watt.
func fitSF(v float64) int {
	sf := 0
	for math.Abs(v)/math.Pow10(sf) > math.MaxInt16 && sf < 10 {
		sf++
	}
	return sf
}

// putString writes s as a SunSpec string point, two bytes a register,
// NUL padded and truncated to fit.
func putString(b []uint16, s string) {
	for i := range b {
		var hi, lo byte
		if 2*i < len(s) {
			hi = s[2*i]
		}
		if 2*i+1 < len(s) {
			lo = s[2*i+1]
		}
		b[i] = uint16(hi)<<8 | uint16(lo)
	}
}

// Model 160 as served: the fixed part (8 points) and three modules, the
// PV array and the battery as a hybrid that models its battery as MPPT
// modules does (Fronius GEN24's naming: "StCha" charging, "StDisCha"
// discharging, each a DC power that is never negative).
const (
	lenMPPTFixed  = 8
	lenMPPTModule = 20
	mpptModules   = 3
)

func renderMPPT(b []uint16, r reading) {
	fill(b[2:], nU16)
	batW := float64(r.flex.PowerW)
	pv := float64(r.pv.PowerW)
	wSF := fitSF(max(pv, math.Abs(batW)))
	b[2], b[3], b[4], b[5] = nI16, nI16, sfReg(wSF), nI16 // DCA_SF, DCV_SF, DCW_SF, DCWH_SF
	b[6], b[7] = 0, 0                                     // Evt
	b[8] = mpptModules                                    // N
	for i, m := range []struct {
		name string
		w    float64
	}{{"String 1", pv}, {"StCha 2", max(batW, 0)}, {"StDisCha 3", max(-batW, 0)}} {
		mb := b[2+lenMPPTFixed+i*lenMPPTModule:]
		mb[0] = uint16(i + 1)
		putString(mb[1:9], m.name)
		mb[11] = scaleU(m.w, wSF)
		mb[16] = nI16 // Tmp
	}
}
