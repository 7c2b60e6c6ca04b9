package sunspec

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/simonvetter/modbus"
)

// dialHint names the likely cause of a failed discovery, in the words a
// person at the device needs: no answer from the unit ID (the commonest
// mistake: a gateway or an inverter answers only its own), nothing
// listening at the address, or a device that answers without a SunSpec
// map. "" when err says nothing more specific. Pure.
func dialHint(cfg Config, err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("nothing accepts Modbus TCP at %s: check the device's address and port "+
			"(Modbus TCP's is 502, some inverters use 1502) and that Modbus TCP is enabled on it", cfg.Addr)
	case errors.Is(err, modbus.ErrGWTargetFailedToRespond), errors.Is(err, modbus.ErrGWPathUnavailable),
		errors.Is(err, modbus.ErrRequestTimedOut), errors.Is(err, modbus.ErrBadUnitId),
		errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer from unit ID %d at %s: check the device's Modbus unit ID "+
			"(often 1 or 126 for SunSpec inverters; a gateway puts each device behind its own)", cfg.UnitID, cfg.Addr)
	case errors.Is(err, ErrNotSunSpec):
		return fmt.Sprintf("unit ID %d at %s answers but shows no SunSpec map at registers %v: check the unit ID "+
			"and that SunSpec is enabled on the device", cfg.UnitID, cfg.Addr, cfg.Bases)
	}
	return ""
}

// explainDial puts dialHint's cause in front of a failed discovery's
// error, which it wraps.
func explainDial(cfg Config, err error) error {
	if h := dialHint(cfg, err); h != "" {
		return fmt.Errorf("%s: %w", h, err)
	}
	return err
}
