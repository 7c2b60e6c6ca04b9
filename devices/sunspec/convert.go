package sunspec

import (
	"fmt"
	"math"
	"strings"

	"github.com/gridmesh/gridmesh"
)

// Pure conversions between decoded models and gridmesh readings and
// commands. A reading out of the range gridmesh messages carry is
// ErrBadModel; a command is either within the device's percentages or an
// error, whatever the registers held.

// write is a run of registers to write at an offset from a model's ID
// register.
type write struct {
	off  uint16
	regs []uint16
}

// power checks that v is a usable power.
func power(name string, v value) (gridmesh.W, error) {
	if !v.ok {
		return 0, fmt.Errorf("%w: %s not implemented", ErrBadModel, name)
	}
	if math.Abs(v.v) > float64(gridmesh.MaxHomePowerW) {
		return 0, fmt.Errorf("%w: %s %v W out of range", ErrBadModel, name, v.v)
	}
	return gridmesh.W(v.v), nil
}

// rating returns a positive power rating, or ok false.
func rating(v value) (gridmesh.W, bool) {
	if !v.ok || v.v <= 0 || v.v > float64(gridmesh.MaxHomePowerW) {
		return 0, false
	}
	return gridmesh.W(v.v), true
}

// flexibility reads a battery from model 124 and, when the device has
// them, 802 (bat) and 120 (np). Without 802 the battery's power is not
// reported by SunSpec and reads 0. The energies are at the home's bus:
// ChargeWh is the room left over sqrt(roundTrip), DischargeWh the energy
// above 124's MinRsvPct (none when not implemented) times sqrt(roundTrip),
// never negative. roundTrip is in (0, 1] (Config.Validate holds it to
// [0.5, 1]).
func flexibility(st storage, bat *battery, np *nameplate, roundTrip float64) (gridmesh.Flexibility, error) {
	maxCharge, ok := rating(st.wChaMax)
	if !ok {
		return gridmesh.Flexibility{}, fmt.Errorf("%w: WChaMax not a usable rating", ErrBadModel)
	}
	maxDischarge := maxCharge
	soc, chaSt := st.chaState, st.chaSt
	var f gridmesh.Flexibility
	if np != nil {
		if w, ok := rating(np.maxDisChaRte); ok {
			maxDischarge = w
		}
		if np.whRtg.ok {
			f.CapacityWh = gridmesh.Wh(np.whRtg.v)
		}
	}
	if bat != nil {
		if bat.soc.ok {
			soc = bat.soc
		}
		if bat.chaSt != notUint16 {
			chaSt = bat.chaSt
		}
		if w, ok := rating(bat.wChaRteMax); ok {
			maxCharge = min(maxCharge, w)
		}
		if w, ok := rating(bat.wDisChaRteMax); ok {
			maxDischarge = w
		}
		if bat.whRtg.ok {
			f.CapacityWh = gridmesh.Wh(bat.whRtg.v)
		}
		if bat.w.ok {
			w, err := power("battery W", bat.w)
			if err != nil {
				return gridmesh.Flexibility{}, err
			}
			f.PowerW = -w // SunSpec: positive discharges; gridmesh: positive charges
		}
	}
	if !soc.ok || soc.v < 0 || soc.v > 100 {
		return gridmesh.Flexibility{}, fmt.Errorf("%w: state of charge not reported or out of range", ErrBadModel)
	}
	f.SoC = soc.v / 100
	reserve := 0.0
	if st.minRsvPct.ok {
		if st.minRsvPct.v < 0 || st.minRsvPct.v > 100 {
			return gridmesh.Flexibility{}, fmt.Errorf("%w: MinRsvPct %v%% out of range", ErrBadModel, st.minRsvPct.v)
		}
		reserve = st.minRsvPct.v / 100
	}
	if chaSt != chaStFull && f.SoC < 1 {
		f.MaxW = maxCharge
	}
	if chaSt != chaStEmpty && f.SoC > 0 {
		f.MinW = -maxDischarge
	}
	eta := math.Sqrt(roundTrip) // the loss each way
	f.ChargeWh = gridmesh.Wh((1 - f.SoC) / eta * float64(f.CapacityWh))
	f.DischargeWh = gridmesh.Wh(max(f.SoC-reserve, 0) * eta * float64(f.CapacityWh))
	if err := f.Validate(); err != nil {
		return gridmesh.Flexibility{}, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	return f, nil
}

// command is the writes that hold one setpoint, split by how often they
// are due: the setpoint's own registers whenever it moves, the registers
// that put it in force (the reversion time, the control mode) once per
// connection, and an enable that follows the value (the PV limit's, on
// below the rating and off at it) whenever it flips.
type command struct {
	set     write
	statics []write
	enable  *write
}

// all is every write of the command, in the order a first write goes
// out: the value, then what puts it in force.
func (c command) all() []write {
	ws := append([]write{c.set}, c.statics...)
	if c.enable != nil {
		ws = append(ws, *c.enable)
	}
	return ws
}

// storageCommand returns the writes that hold the battery at w (positive:
// charge) on a device that reads the rates as rates says: for
// RatesWindow, the charge and discharge rates set to the same percentage
// of WChaMax with opposite signs, so the allowed window [-OutWRte,
// InWRte] is the single point w; for RatesNet, the rate of w's direction
// set to its percentage and the other to 0. Then, once per connection,
// the rates' reversion time (when the device implements it, so the
// battery returns to its own control if gridmesh stops writing) and both
// StorCtl_Mod limits on.
func storageCommand(st storage, w gridmesh.W, rvrtSecs uint16, rates StorageRates) (command, error) {
	if !w.Finite() {
		return command{}, fmt.Errorf("%w: battery command %v not finite", ErrBadCommand, w)
	}
	maxW, ok := rating(st.wChaMax)
	if !ok {
		return command{}, fmt.Errorf("%w: WChaMax not a usable rating", ErrBadModel)
	}
	if !st.ratesOK {
		return command{}, fmt.Errorf("%w: InWRte/OutWRte not implemented", ErrModelMissing)
	}
	p, err := rawPercent(math.Abs(float64(w))/float64(maxW)*100, st.rateSF)
	if err != nil {
		return command{}, err
	}
	neg := uint16(-int16(p))
	if rates == RatesNet {
		neg = 0
	}
	out, in := neg, p // charge
	if w < 0 {
		out, in = p, neg
	}
	c := command{set: write{offStorageRates, []uint16{out, in}}}
	if st.rvrtOK {
		c.statics = append(c.statics, write{offStorageRates + 3, []uint16{rvrtSecs}})
	}
	c.statics = append(c.statics, write{offStorageMod, []uint16{modCharge | modDischarge}})
	return c, nil
}

// storageRelease returns the writes that hand the battery back to its own
// control: both StorCtl_Mod limits off, then both rates at 100 % (what
// 124 holds with no limit in force), so a device that keeps obeying its
// rates regardless of the mode is not left holding the last setpoint.
func storageRelease(st storage) ([]write, error) {
	ws := []write{{offStorageMod, []uint16{0}}}
	if !st.ratesOK {
		return ws, nil
	}
	full, err := rawPercent(100, st.rateSF)
	if err != nil {
		return nil, err
	}
	return append(ws, write{offStorageRates, []uint16{full, full}}), nil
}

// peakW is the inverter's rated output: WMax (121) if the device has it,
// else WRtg (120). 123's and 704's percentages are taken of it.
func peakW(s *settings, np *nameplate) (gridmesh.W, bool) {
	if s != nil {
		if w, ok := rating(s.wMax); ok {
			return w, true
		}
	}
	if np != nil {
		return rating(np.wRtg)
	}
	return 0, false
}

// pvState reads a PV inverter. The inverter's AC output W is PV production
// less what went into a battery behind the same inverter, so chargeW (the
// battery's power, positive charging; 0 without one) is added back.
// SunSpec does not say what the array could produce, so AvailableW is the
// production.
func pvState(inv inverter, peak gridmesh.W, limPct value, enabled bool, chargeW gridmesh.W) (gridmesh.PVState, error) {
	w, err := power("inverter W", inv.w)
	if err != nil {
		return gridmesh.PVState{}, err
	}
	pv := max(w+chargeW, 0)
	limit := peak
	if enabled && limPct.ok {
		limit = peak * gridmesh.W(min(max(limPct.v, 0), 100)) / 100
	}
	return gridmesh.PVState{PowerW: pv, AvailableW: pv, LimitW: limit, PeakW: peak}, nil
}

// limitPercent turns a PV limit into a percentage of peak and whether the
// limit is enabled at all (a limit at or above the peak is none). A
// non-finite limit is refused, ±Inf as NaN: control's PV promises that.
func limitPercent(limitW, peak gridmesh.W) (float64, bool, error) {
	if !limitW.Finite() {
		return 0, false, fmt.Errorf("%w: PV limit %v not finite", ErrBadCommand, limitW)
	}
	if limitW >= peak {
		return 100, false, nil
	}
	return float64(max(limitW, 0)) / float64(peak) * 100, true, nil
}

// controlsCommand returns the 123 writes for a PV limit: WMaxLimPct;
// once per connection its reversion time, when implemented; WMaxLim_Ena
// whenever it flips.
func controlsCommand(c controls, limitW, peak gridmesh.W, rvrtSecs uint16) (command, error) {
	pct, on, err := limitPercent(limitW, peak)
	if err != nil {
		return command{}, err
	}
	raw, err := rawPercent(pct, c.sf)
	if err != nil {
		return command{}, err
	}
	cmd := command{set: write{offControlsLim, []uint16{raw}}, enable: &write{offControlsLim + 4, []uint16{enable(on)}}}
	if c.rvrtOK {
		cmd.statics = []write{{offControlsLim + 2, []uint16{rvrtSecs}}}
	}
	return cmd, nil
}

// derControlsCommand returns the 704 writes for a PV limit: WMaxLimPct;
// once per connection, when the reversion time is implemented, no limit
// after reversion (WMaxLimPctEnaRvrt disabled) and the time;
// WMaxLimPctEna whenever it flips.
func derControlsCommand(c derControls, limitW, peak gridmesh.W, rvrtSecs uint32) (command, error) {
	pct, on, err := limitPercent(limitW, peak)
	if err != nil {
		return command{}, err
	}
	raw, err := rawPercent(pct, c.sf)
	if err != nil {
		return command{}, err
	}
	cmd := command{set: write{offDERControlsLim + 1, []uint16{raw}}, enable: &write{offDERControlsLim, []uint16{enable(on)}}}
	if c.rvrtOK {
		cmd.statics = []write{{offDERControlsLim + 3, []uint16{0, uint16(rvrtSecs >> 16), uint16(rvrtSecs)}}}
	}
	return cmd, nil
}

func enable(on bool) uint16 {
	if on {
		return 1
	}
	return 0
}

// meterReading reads a 20x meter; W is the import at the meter. The grid
// counts as gone when the meter reads a voltage under 50 V or a frequency
// outside 40-70 Hz; a meter that measures neither cannot tell, and the
// grid counts as there.
func meterReading(m meter) (gridmesh.MeterReading, error) {
	w, err := power("meter W", m.w)
	if err != nil {
		return gridmesh.MeterReading{}, err
	}
	r := gridmesh.MeterReading{NetW: w, GridOK: true}
	if m.v.ok && m.v.v >= 0 && m.v.v < 1000 {
		r.VoltageV = m.v.v
		r.GridOK = r.VoltageV >= 50
	}
	if m.hz.ok && m.hz.v >= 0 && m.hz.v < 1000 {
		r.FrequencyHz = m.hz.v
		r.GridOK = r.GridOK && r.FrequencyHz >= 40 && r.FrequencyHz <= 70
	}
	return r, nil
}

// PowerSource says where a battery's power reading came from.
type PowerSource string

// The sources of a battery's power, in the order the driver tries them.
const (
	// Source802: model 802's W, the battery's own measurement.
	Source802 PowerSource = "802"
	// Source160: model 160's storage modules, charge less discharge
	// (hybrids that model the battery as MPPT modules named "StCha" and
	// "StDisCha", as Fronius GEN24 does).
	Source160 PowerSource = "160"
	// Source103: on a hybrid, the inverter's DC input (103's DCW) less its
	// AC output (W): what stays in the battery, the inverter's losses
	// (a few per cent of the throughput) counted as charging.
	Source103 PowerSource = "103"
	// SourceNone: the device reports no battery power; it reads 0.
	SourceNone PowerSource = "none"
)

// storageModules is the battery power 160's storage modules give
// (positive: charging), if the device has any.
func storageModules(m mppt) (gridmesh.W, bool) {
	var w gridmesh.W
	found := false
	for _, mod := range m.modules {
		name := strings.ToLower(mod.name)
		var sign gridmesh.W
		switch {
		case strings.HasPrefix(name, "stdischa"):
			sign = -1
		case strings.HasPrefix(name, "stcha"):
			sign = 1
		default:
			continue
		}
		if !mod.w.ok || mod.w.v > float64(gridmesh.MaxHomePowerW) {
			continue
		}
		w += sign * gridmesh.W(mod.w.v)
		found = true
	}
	return w, found
}
