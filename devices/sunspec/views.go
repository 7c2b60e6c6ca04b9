package sunspec

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridmesh/gridmesh"
)

// Battery is a device's battery (model 124, and 802 when present). Its
// methods match control.Battery.
type Battery struct{ d *Device }

// Meter is a device's grid meter (a 20x model). Its method matches
// control.Meter.
type Meter struct{ d *Device }

// PV is a device's PV inverter (101-103 with 123 or 704). Its methods
// match control.PV.
type PV struct{ d *Device }

// Battery reads the battery's flexibility: SoC from 802 (or 124's
// ChaState), limits from 124's WChaMax and 802's rates (or 120's), power
// from 802, else 160's storage modules, else a hybrid's 103 (DCW less W),
// else 0 (Stats.BatteryPowerSource says which), capacity from 802 (or
// 120), and the energies
// to full and to 124's MinRsvPct after Config.RoundTripEfficiency's
// losses. It also writes the setpoint held, when the write policy says it
// is due (see SetBatteryPower).
func (b *Battery) Battery() (gridmesh.Flexibility, error) {
	return do(b.d, "read battery", func(ctx context.Context, s *session) (gridmesh.Flexibility, error) {
		h, st, err := s.storageModel(ctx)
		if err != nil {
			return gridmesh.Flexibility{}, err
		}
		if err := b.d.afterRead(b.d.flushBattery(ctx, s, h, st)); err != nil {
			return gridmesh.Flexibility{}, err
		}
		bat, err := s.battery(ctx)
		if err != nil {
			return gridmesh.Flexibility{}, err
		}
		f, err := flexibility(st, bat, s.np, b.d.cfg.RoundTripEfficiency)
		if err != nil {
			return f, err
		}
		w, src, err := s.batteryPower(ctx, bat)
		if err != nil {
			return gridmesh.Flexibility{}, err
		}
		f.PowerW = w
		b.d.source.Store(src)
		return f, nil
	})
}

// SetBatteryPower holds the battery at w (positive: charge) through
// 124's rates, with ReversionTimeout as their reversion time. The device
// clamps w to its limits (WChaMax, and ±100 %).
//
// Holding is not writing: the rates are written now if the write policy
// allows (a move of DeadbandW or more, MinWriteInterval since the
// device's last setpoint write), and otherwise by a later call to the
// device, a reading included, once it does; the held setpoint is written
// again at half the reversion time. Callers must therefore keep calling
// the device (a guard polls it) while they hold a setpoint. StorCtl_Mod
// and the reversion time are written once per connection, and again when
// a reading shows the device dropped them.
func (b *Battery) SetBatteryPower(w gridmesh.W) error {
	_, err := do(b.d, "set battery power", func(ctx context.Context, s *session) (struct{}, error) {
		h, st, err := s.storageModel(ctx)
		if err != nil {
			return struct{}{}, err
		}
		if _, err := storageCommand(st, w, b.d.cfg.reversionSecs(), b.d.cfg.StorageRates); err != nil {
			return struct{}{}, err // refused before it is held
		}
		b.d.bat.hold(w)
		return struct{}{}, b.d.flushBattery(ctx, s, h, st)
	})
	return err
}

// Release hands the battery back to its own control: StorCtl_Mod cleared
// and both rates at 100 %, so it runs its default mode (self-consumption
// on common hybrids). The setpoint held is forgotten; a later
// SetBatteryPower steers the battery again. ctx bounds the call, as does
// Config.Timeout.
func (b *Battery) Release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.d.cfg.Timeout)
	defer cancel()
	_, err := call(ctx, b.d, "release battery", func(ctx context.Context, s *session) (struct{}, error) {
		b.d.bat.release()
		h, st, err := s.storageModel(ctx)
		if err != nil {
			return struct{}{}, err
		}
		ws, err := storageRelease(st)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.writeAll(ctx, h, ws)
	})
	return err
}

// flushBattery writes what is due of the battery's setpoint, given 124 as
// just read. The caller holds ioMu.
func (d *Device) flushBattery(ctx context.Context, s *session, h ModelHeader, st storage) error {
	if !d.bat.wanted {
		return nil
	}
	cmd, err := storageCommand(st, d.bat.want, d.cfg.reversionSecs(), d.cfg.StorageRates)
	if err != nil {
		return err
	}
	kept := st.mod == modCharge|modDischarge
	return d.flush(s, h, &d.bat, &d.pvLim, cmd, kept, func(ws []write) error { return s.writeAll(ctx, h, ws) })
}

// afterRead sorts the error of a write made during a reading: one that
// leaves the connection in doubt fails the reading too; a refusal is
// logged (when it differs from the last one) and the reading goes on,
// since the device answered. The caller holds ioMu.
func (d *Device) afterRead(err error) error {
	var ioe *ioError
	switch {
	case err == nil:
		d.lastWriteErr = ""
		return nil
	case errors.As(err, &ioe):
		return err
	}
	if msg := err.Error(); msg != d.lastWriteErr {
		d.lastWriteErr = msg
		d.log.Warn("setpoint write refused; trying again at the write interval", "err", err)
	}
	return nil
}

// storageModel reads and decodes 124.
func (s *session) storageModel(ctx context.Context) (ModelHeader, storage, error) {
	h, err := s.need(ModelStorage)
	if err != nil {
		return h, storage{}, err
	}
	regs, err := s.block(ctx, h, lenStorage)
	if err != nil {
		return h, storage{}, err
	}
	st, err := decodeStorage(regs)
	return h, st, err
}

// battery reads 802 when the device has it (nil otherwise).
func (s *session) battery(ctx context.Context) (*battery, error) {
	h, ok := s.first[ModelBattery]
	if !ok {
		return nil, nil
	}
	regs, err := s.block(ctx, h, lenBattery)
	if err != nil {
		return nil, err
	}
	b, err := decodeBattery(regs)
	return &b, err
}

func (s *session) writeAll(ctx context.Context, h ModelHeader, ws []write) error {
	for _, w := range ws {
		if err := s.write(ctx, h.Addr+w.off, w.regs); err != nil {
			return err
		}
	}
	return nil
}

// Meter reads the meter: NetW is its total real power W (positive:
// import).
func (m *Meter) Meter() (gridmesh.MeterReading, error) {
	return do(m.d, "read meter", func(ctx context.Context, s *session) (gridmesh.MeterReading, error) {
		h, err := s.need(meterModels...)
		if err != nil {
			return gridmesh.MeterReading{}, err
		}
		regs, err := s.block(ctx, h, lenMeter)
		if err != nil {
			return gridmesh.MeterReading{}, err
		}
		mt, err := decodeMeter(regs)
		if err != nil {
			return gridmesh.MeterReading{}, err
		}
		return meterReading(mt)
	})
}

// limit is the output limit in force, from 704 or 123.
type limit struct {
	pct     value
	enabled bool
}

// pvControl is the output limit's model as read: 704, else 123.
type pvControl struct {
	h   ModelHeader
	der derControls // when h.ID is 704
	ctl controls    // when h.ID is 123
}

// pvControl reads the output limit's model.
func (s *session) pvControl(ctx context.Context) (pvControl, error) {
	h, err := s.need(ModelDERControls, ModelControls)
	if err != nil {
		return pvControl{}, err
	}
	c := pvControl{h: h}
	if h.ID == ModelDERControls {
		regs, err := s.block(ctx, h, lenDERControls)
		if err != nil {
			return c, err
		}
		c.der, err = decodeDERControls(regs)
		return c, err
	}
	regs, err := s.block(ctx, h, lenControls)
	if err != nil {
		return c, err
	}
	c.ctl, err = decodeControls(regs)
	return c, err
}

// limit is the limit in force.
func (c pvControl) limit() limit {
	if c.h.ID == ModelDERControls {
		return limit{c.der.limPct, c.der.enabled}
	}
	return limit{c.ctl.limPct, c.ctl.enabled}
}

// command is the writes that cap the output at w.
func (c pvControl) command(w, peak gridmesh.W, rvrtSecs uint16) (command, error) {
	if c.h.ID == ModelDERControls {
		return derControlsCommand(c.der, w, peak, uint32(rvrtSecs))
	}
	return controlsCommand(c.ctl, w, peak, rvrtSecs)
}

// PV reads the inverter: PowerW is its AC output W plus what its battery
// (802) takes in, if it has one; LimitW is the 704 (or 123) limit in
// force as a share of PeakW, WMax (121) or else WRtg (120). It also
// writes the limit held, when the write policy says it is due (see
// SetPVLimit).
func (p *PV) PV() (gridmesh.PVState, error) {
	return do(p.d, "read pv", func(ctx context.Context, s *session) (gridmesh.PVState, error) {
		peak, err := s.peak()
		if err != nil {
			return gridmesh.PVState{}, err
		}
		h, err := s.need(inverterModels...)
		if err != nil {
			return gridmesh.PVState{}, err
		}
		inv, err := s.inverter(ctx, h)
		if err != nil {
			return gridmesh.PVState{}, err
		}
		ctl, err := s.pvControl(ctx)
		if err != nil {
			return gridmesh.PVState{}, err
		}
		if err := p.d.afterRead(p.d.flushPV(ctx, s, ctl, peak)); err != nil {
			return gridmesh.PVState{}, err
		}
		var chargeW gridmesh.W
		if _, hybrid := s.first[ModelStorage]; hybrid {
			bat, err := s.battery(ctx)
			if err != nil {
				return gridmesh.PVState{}, err
			}
			if chargeW, _, err = s.batteryPower(ctx, bat); err != nil {
				return gridmesh.PVState{}, err
			}
		}
		lim := ctl.limit()
		return pvState(inv, peak, lim.pct, lim.enabled, chargeW)
	})
}

// peak is the inverter's rating (see peakW).
func (s *session) peak() (gridmesh.W, error) {
	if w, ok := peakW(s.set, s.np); ok {
		return w, nil
	}
	return 0, fmt.Errorf("%w: no rating in 121 (WMax) or 120 (WRtg)", ErrModelMissing)
}

// SetPVLimit caps the output at w through 704's WMaxLimPct (or 123's),
// with ReversionTimeout as its reversion time; w at or above PeakW lifts
// the cap. The device clamps w to [0, PeakW]. The limit is held and
// written as SetBatteryPower's setpoint is (the two share the device's
// MinWriteInterval): callers must keep calling the device while they
// hold it.
func (p *PV) SetPVLimit(w gridmesh.W) error {
	_, err := do(p.d, "set pv limit", func(ctx context.Context, s *session) (struct{}, error) {
		peak, err := s.peak()
		if err != nil {
			return struct{}{}, err
		}
		ctl, err := s.pvControl(ctx)
		if err != nil {
			return struct{}{}, err
		}
		if _, err := ctl.command(w, peak, p.d.cfg.reversionSecs()); err != nil {
			return struct{}{}, err // refused before it is held
		}
		p.d.pvLim.hold(w)
		return struct{}{}, p.d.flushPV(ctx, s, ctl, peak)
	})
	return err
}

// Release lifts the output limit (its enable cleared) and forgets it; a
// later SetPVLimit caps the output again. ctx bounds the call, as does
// Config.Timeout.
func (p *PV) Release(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.d.cfg.Timeout)
	defer cancel()
	_, err := call(ctx, p.d, "release pv limit", func(ctx context.Context, s *session) (struct{}, error) {
		p.d.pvLim.release()
		ctl, err := s.pvControl(ctx)
		if err != nil {
			return struct{}{}, err
		}
		off := write{offControlsLim + 4, []uint16{0}}
		if ctl.h.ID == ModelDERControls {
			off = write{offDERControlsLim, []uint16{0}}
		}
		return struct{}{}, s.writeAll(ctx, ctl.h, []write{off})
	})
	return err
}

// flushPV writes what is due of the PV limit, given its model as just
// read. The caller holds ioMu.
func (d *Device) flushPV(ctx context.Context, s *session, ctl pvControl, peak gridmesh.W) error {
	if !d.pvLim.wanted {
		return nil
	}
	cmd, err := ctl.command(d.pvLim.want, peak, d.cfg.reversionSecs())
	if err != nil {
		return err
	}
	// A limit written on and read off was dropped: the device reverted.
	kept := d.pvLim.sent.ena == 0 || ctl.limit().enabled
	return d.flush(s, ctl.h, &d.pvLim, &d.bat, cmd, kept, func(ws []write) error { return s.writeAll(ctx, ctl.h, ws) })
}

// inverter reads and decodes the inverter model h, DCW included when the
// model has it.
func (s *session) inverter(ctx context.Context, h ModelHeader) (inverter, error) {
	regs, err := s.block(ctx, h, lenInverterDC)
	if err != nil {
		return inverter{}, err
	}
	return decodeInverter(regs)
}

// batteryPower is the battery's power (positive: charging) and where it
// came from: 802's W; else 160's storage modules (charge less discharge);
// else, on a hybrid, 103's DC input less its AC output, what stays in the
// battery; else 0 from nowhere. bat is 802 as read (nil without it).
func (s *session) batteryPower(ctx context.Context, bat *battery) (gridmesh.W, PowerSource, error) {
	if bat != nil && bat.w.ok {
		w, err := power("battery W", bat.w)
		return -w, Source802, err // SunSpec: positive discharges
	}
	if h, ok := s.first[ModelMPPT]; ok {
		regs, err := s.read(ctx, h.Addr, uint16(mpptBlock(h.Len)))
		if err != nil {
			return 0, SourceNone, err
		}
		m, err := decodeMPPT(regs)
		if err != nil {
			return 0, SourceNone, err
		}
		if w, ok := storageModules(m); ok {
			w, err := power("battery power from 160", value{float64(w), true})
			return w, Source160, err
		}
	}
	if h, ok := s.find(inverterModels...); ok {
		inv, err := s.inverter(ctx, h)
		if err != nil {
			return 0, SourceNone, err
		}
		if inv.w.ok && inv.dcw.ok {
			ac, err := power("inverter W", inv.w)
			if err != nil {
				return 0, SourceNone, err
			}
			dc, err := power("inverter DCW", inv.dcw)
			if err != nil {
				return 0, SourceNone, err
			}
			w, err := power("battery power from 103", value{float64(dc - ac), true})
			return w, Source103, err
		}
	}
	return 0, SourceNone, nil
}

// Writes is the Modbus write requests sent to the device the battery is
// part of (Stats.Writes): what its status counts against the device's
// write budget.
func (b *Battery) Writes() uint64 { return b.d.stats.writes.Load() }

// Writes is the Modbus write requests sent to the device the meter is
// part of (Stats.Writes).
func (m *Meter) Writes() uint64 { return m.d.stats.writes.Load() }

// Writes is the Modbus write requests sent to the device the PV inverter
// is part of (Stats.Writes).
func (p *PV) Writes() uint64 { return p.d.stats.writes.Load() }
