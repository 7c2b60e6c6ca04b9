package ocpp

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridmesh/gridmesh"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
)

// ErrUnanswered is wrapped by the error of a request the charger did not
// answer in time.
var ErrUnanswered = errors.New("ocpp: charger did not answer")

// Release hands the charger back to its own default: it forgets the
// setpoint and clears every profile of the driver's on the connector
// (ClearChargingProfile of the driver's stack level), waiting within ctx
// for the charger's answer. A charger that holds none of ours (never
// steered, or released already) needs nothing. A charger not connected
// cannot be reached: the error says so, and the charger drops the
// profile at its validTo (Config.ProfileValidity). A setpoint given after
// Release steers the charger again. Run releases the charger itself when
// its context ends, before it closes the connection.
func (c *Charger) Release(ctx context.Context) error {
	c.mu.Lock()
	c.steer = steer{}
	c.epoch++
	steered, connected, booted := c.steered, c.st.connected, c.st.booted
	epoch := c.epoch
	c.mu.Unlock()
	if !steered {
		return nil
	}
	if !connected || !booted {
		return c.deviceErr("release", true, fmt.Errorf("%w: charger not connected; it drops the profile at its validTo", gridmesh.ErrUnavailable))
	}
	status, err := c.clear(ctx)
	if err != nil {
		return c.deviceErr("release", true, err)
	}
	// Unknown: the charger holds none of ours (it dropped or lost it).
	if status != smartcharging.ClearChargingProfileStatusAccepted && status != smartcharging.ClearChargingProfileStatusUnknown {
		return c.deviceErr("release", false, fmt.Errorf("charger answered %s to ClearChargingProfile", status))
	}
	c.stats.releases.Add(1)
	c.mu.Lock()
	if c.epoch == epoch { // no setpoint since
		c.steered = false
	}
	c.mu.Unlock()
	c.log.Info("charger released to its default", "status", status)
	return nil
}

// clear sends ClearChargingProfile for the driver's profiles on the
// connector and waits for the answer within ctx.
func (c *Charger) clear(ctx context.Context) (smartcharging.ClearChargingProfileStatus, error) {
	type answer struct {
		conf *smartcharging.ClearChargingProfileConfirmation
		err  error
	}
	done := make(chan answer, 1) // the one answer; the callback never blocks
	conn, level := c.cfg.Connector, stackLevel
	err := c.cs.ClearChargingProfile(c.cfg.ChargePointID, func(conf *smartcharging.ClearChargingProfileConfirmation, err error) {
		done <- answer{conf, err}
	}, func(r *smartcharging.ClearChargingProfileRequest) { r.ConnectorId, r.StackLevel = &conn, &level })
	if err != nil {
		return "", fmt.Errorf("ClearChargingProfile not sent: %w", err)
	}
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("ClearChargingProfile: %w", ctx.Err())
	case a := <-done:
		if a.err != nil {
			return "", fmt.Errorf("%w: ClearChargingProfile: %w", ErrUnanswered, a.err)
		}
		return a.conf.Status, nil
	}
}
