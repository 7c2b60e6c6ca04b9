package ocpp

import (
	"context"
	"fmt"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/lorenzodonini/ocpp-go/ocpp"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/firmware"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/localauth"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/reservation"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
)

// profiles are the OCPP 1.6 feature profiles the central system speaks.
func profiles() []*ocpp.Profile {
	return []*ocpp.Profile{core.Profile, localauth.Profile, firmware.Profile, reservation.Profile, remotetrigger.Profile, smartcharging.Profile}
}

// rateUnitKey is the charger's configuration key for the units its
// charging profiles may be in (OCPP 1.6, Smart Charging profile).
const rateUnitKey = "ChargingScheduleAllowedChargingRateUnit"

// write sends what is due to the charger until ctx ends: it looks
// whenever poked (a setpoint, an answer, a connection) and when the
// pacing said to look again.
func (c *Charger) write(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := c.step(time.Now())
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-timer.C:
		}
	}
}

// request is one request to send, with what to do with its answer.
type request func() error

// step sends every request due now and returns when to look again (zero:
// when poked).
func (c *Charger) step(now time.Time) time.Time {
	c.mu.Lock()
	reqs, next := c.due(now)
	c.mu.Unlock()
	for _, r := range reqs {
		if err := r(); err != nil {
			// Not sent at all (no connection any more): the
			// disconnection resets what was in flight.
			c.log.Info("request not sent", "err", err)
		}
	}
	return next
}

// due decides the requests to send now; the caller holds mu. Before a
// boot: ask for one (a charger that connects again without rebooting, as
// after the home restarted, does not boot on its own). After it: learn
// the charger's rate unit, ask for the connector's status if it has not
// said it on this connection, then the profile the pacing allows.
func (c *Charger) due(now time.Time) ([]request, time.Time) {
	if !c.st.connected {
		return nil, time.Time{}
	}
	var reqs []request
	gen, id := c.gen, c.cfg.ChargePointID
	if !c.st.booted {
		if c.setup.calls && !c.setup.bootTriggered {
			c.setup.bootTriggered = true
			reqs = append(reqs, func() error {
				return c.cs.TriggerMessage(id, c.onTrigger("BootNotification"), core.BootNotificationFeatureName)
			})
		}
		return reqs, time.Time{}
	}
	if !c.setup.unitKnown && !c.setup.unitAsked {
		c.setup.unitAsked = true
		reqs = append(reqs, func() error { return c.cs.GetConfiguration(id, c.onUnit(gen), []string{rateUnitKey}) })
	}
	if !c.st.reported && !c.setup.statusAsked {
		c.setup.statusAsked = true
		conn := c.cfg.Connector
		reqs = append(reqs, func() error {
			return c.cs.TriggerMessage(id, c.onTrigger("StatusNotification"), core.StatusNotificationFeatureName,
				func(r *remotetrigger.TriggerMessageRequest) { r.ConnectorId = &conn })
		})
	}
	if !c.setup.unitKnown {
		return reqs, time.Time{}
	}
	r, next := c.profileDue(now)
	if r != nil {
		reqs = append(reqs, r)
	}
	return reqs, next
}

// profileDue is the profile to send now, if the pacing allows one; the
// caller holds mu.
func (c *Charger) profileDue(now time.Time) (request, time.Time) {
	target := specFor(c.steer.want, c.st.txID, c.unit, c.cfg.elec(), now.Add(c.cfg.ProfileValidity))
	send, next := c.cfg.policy().decide(c.steer, target, now)
	if !send {
		return nil, next
	}
	c.steer.inFlight, c.steer.lastWrite = true, now
	c.steered = true
	at := answerTo{gen: c.gen, epoch: c.epoch}
	w, id, conn := c.steer.want, c.cfg.ChargePointID, c.cfg.Connector
	return func() error {
		c.stats.profilesSent.Add(1)
		return c.cs.SetChargingProfile(id, func(conf *smartcharging.SetChargingProfileConfirmation, err error) {
			c.profileAnswered(at, target, w, conf, err)
		}, conn, target.profile())
	}, time.Time{}
}

// answerTo is what a profile was sent on: a connection and a release
// epoch; an answer on another is not used.
type answerTo struct{ gen, epoch uint64 }

// profileAnswered takes the charger's answer to a profile (or the
// dispatcher's timeout, or the disconnection).
func (c *Charger) profileAnswered(at answerTo, p profileSpec, w gridmesh.W, conf *smartcharging.SetChargingProfileConfirmation, err error) {
	defer c.poke()
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if at != (answerTo{gen: c.gen, epoch: c.epoch}) {
		return
	}
	c.steer.inFlight = false
	switch {
	case err != nil:
		c.stats.unanswered.Add(1)
		c.steer.sentOK = false
		c.steer.retryAt = now.Add(c.bo.Next())
		c.pending = c.deviceErr("set charging profile", true, fmt.Errorf("%w: no answer: %w", ErrUnanswered, err))
	case conf.Status == smartcharging.ChargingProfileStatusAccepted:
		c.stats.profilesAccepted.Add(1)
		c.bo.Reset()
		c.steer.sent, c.steer.sentW, c.steer.sentOK, c.steer.sentAt = p, w, true, now
		c.steer.retryAt = time.Time{}
	default:
		c.stats.profilesRejected.Add(1)
		c.steer.sentOK = false
		c.steer.retryAt = now.Add(c.bo.Next())
		c.log.Warn("charger refused the charging profile; retrying with backoff", "status", conf.Status, "limit", p.limit, "unit", p.unit)
	}
}

// onUnit takes the charger's answer on its rate unit: watts where it
// takes them, else (no answer, an unknown key) amperes.
func (c *Charger) onUnit(gen uint64) func(*core.GetConfigurationConfirmation, error) {
	return func(conf *core.GetConfigurationConfirmation, err error) {
		defer c.poke()
		allowed := ""
		if err == nil {
			for _, k := range conf.ConfigurationKey {
				if k.Key == rateUnitKey && k.Value != nil {
					allowed = *k.Value
				}
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if gen != c.gen {
			return
		}
		c.unit, c.setup.unitKnown = unitOf(allowed), true
		c.log.Info("charger's charging rate unit", "allowed", allowed, "using", c.unit, "err", err)
	}
}

// onTrigger logs the answer to a TriggerMessage.
func (c *Charger) onTrigger(what string) func(*remotetrigger.TriggerMessageConfirmation, error) {
	return func(conf *remotetrigger.TriggerMessageConfirmation, err error) {
		if err != nil {
			c.log.Info("charger did not answer a trigger", "message", what, "err", err)
			return
		}
		c.log.Info("charger answered a trigger", "message", what, "status", conf.Status)
	}
}
