package sunspec

import (
	"context"
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
// from 802 (0 without it), capacity from 802 (or 120), and the energies
// to full and to 124's MinRsvPct after Config.RoundTripEfficiency's
// losses.
func (b *Battery) Battery() (gridmesh.Flexibility, error) {
	return do(b.d, "read battery", func(ctx context.Context, s *session) (gridmesh.Flexibility, error) {
		st, bat, err := s.storage(ctx)
		if err != nil {
			return gridmesh.Flexibility{}, err
		}
		return flexibility(st, bat, s.np, b.d.cfg.RoundTripEfficiency)
	})
}

// SetBatteryPower holds the battery at w (positive: charge) through
// 124's rates, with ReversionTimeout as their reversion time. The device
// clamps w to its limits (WChaMax, and ±100 %).
func (b *Battery) SetBatteryPower(w gridmesh.W) error {
	_, err := do(b.d, "set battery power", func(ctx context.Context, s *session) (struct{}, error) {
		h, err := s.need(ModelStorage)
		if err != nil {
			return struct{}{}, err
		}
		regs, err := s.block(ctx, h, lenStorage)
		if err != nil {
			return struct{}{}, err
		}
		st, err := decodeStorage(regs)
		if err != nil {
			return struct{}{}, err
		}
		ws, err := storageCommand(st, w, b.d.cfg.reversionSecs())
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.writeAll(ctx, h, ws)
	})
	return err
}

// storage reads 124, and 802 when the device has it (nil otherwise).
func (s *session) storage(ctx context.Context) (storage, *battery, error) {
	h, err := s.need(ModelStorage)
	if err != nil {
		return storage{}, nil, err
	}
	regs, err := s.block(ctx, h, lenStorage)
	if err != nil {
		return storage{}, nil, err
	}
	st, err := decodeStorage(regs)
	if err != nil {
		return storage{}, nil, err
	}
	bat, err := s.battery(ctx)
	return st, bat, err
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

// PV reads the inverter: PowerW is its AC output W plus what its battery
// (802) takes in, if it has one; LimitW is the 704 (or 123) limit in
// force as a share of PeakW, WMax (121) or else WRtg (120).
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
		regs, err := s.block(ctx, h, lenInverter)
		if err != nil {
			return gridmesh.PVState{}, err
		}
		inv, err := decodeInverter(regs)
		if err != nil {
			return gridmesh.PVState{}, err
		}
		lim, err := s.limit(ctx)
		if err != nil {
			return gridmesh.PVState{}, err
		}
		var chargeW gridmesh.W
		if bat, err := s.battery(ctx); err != nil {
			return gridmesh.PVState{}, err
		} else if bat != nil && bat.w.ok {
			if chargeW, err = power("battery W", bat.w); err != nil {
				return gridmesh.PVState{}, err
			}
			chargeW = -chargeW
		}
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

// limit reads the output limit from 704, or 123 without it.
func (s *session) limit(ctx context.Context) (limit, error) {
	h, err := s.need(ModelDERControls, ModelControls)
	if err != nil {
		return limit{}, err
	}
	if h.ID == ModelDERControls {
		regs, err := s.block(ctx, h, lenDERControls)
		if err != nil {
			return limit{}, err
		}
		c, err := decodeDERControls(regs)
		return limit{c.limPct, c.enabled}, err
	}
	regs, err := s.block(ctx, h, lenControls)
	if err != nil {
		return limit{}, err
	}
	c, err := decodeControls(regs)
	return limit{c.limPct, c.enabled}, err
}

// SetPVLimit caps the output at w through 704's WMaxLimPct (or 123's),
// with ReversionTimeout as its reversion time; w at or above PeakW lifts
// the cap. The device clamps w to [0, PeakW].
func (p *PV) SetPVLimit(w gridmesh.W) error {
	_, err := do(p.d, "set pv limit", func(ctx context.Context, s *session) (struct{}, error) {
		peak, err := s.peak()
		if err != nil {
			return struct{}{}, err
		}
		h, err := s.need(ModelDERControls, ModelControls)
		if err != nil {
			return struct{}{}, err
		}
		var ws []write
		if h.ID == ModelDERControls {
			regs, err := s.block(ctx, h, lenDERControls)
			if err != nil {
				return struct{}{}, err
			}
			c, err := decodeDERControls(regs)
			if err != nil {
				return struct{}{}, err
			}
			ws, err = derControlsCommand(c, w, peak, uint32(p.d.cfg.reversionSecs()))
			if err != nil {
				return struct{}{}, err
			}
		} else {
			regs, err := s.block(ctx, h, lenControls)
			if err != nil {
				return struct{}{}, err
			}
			c, err := decodeControls(regs)
			if err != nil {
				return struct{}{}, err
			}
			ws, err = controlsCommand(c, w, peak, p.d.cfg.reversionSecs())
			if err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, s.writeAll(ctx, h, ws)
	})
	return err
}
