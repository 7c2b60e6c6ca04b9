package ocpp

import (
	"strings"
	"time"

	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

// handler answers the charger's Core profile calls. Every call is
// answered as OCPP 1.6 says, whether the charger booted or not (one that
// calls before its BootNotification is counted and asked to boot, and the
// driver waits for the boot before it steers or reports the charger).
type handler struct{ c *Charger }

var _ core.CentralSystemHandler = handler{}

// called notes a call of the charger's other than BootNotification and
// applies f to the station; the writer is woken.
func (h handler) called(f func(station) station) {
	c := h.c
	c.mu.Lock()
	c.setup.calls = true
	if !c.st.booted {
		c.stats.preBootCalls.Add(1)
	}
	if f != nil {
		c.st = f(c.st)
	}
	c.mu.Unlock()
	c.poke()
}

// OnBootNotification accepts the charger, gives it the home's time and
// the heartbeat interval.
func (h handler) OnBootNotification(_ string, r *core.BootNotificationRequest) (*core.BootNotificationConfirmation, error) {
	c := h.c
	c.stats.boots.Add(1)
	c.mu.Lock()
	c.st = c.st.boot()
	c.setup.unitKnown, c.setup.unitAsked = false, false // a new firmware may take other units
	c.steer.sentOK = false                              // a charger may lose profiles on reboot
	c.mu.Unlock()
	c.log.Info("charger booted", "vendor", r.ChargePointVendor, "model", r.ChargePointModel, "firmware", r.FirmwareVersion)
	c.poke()
	return core.NewBootNotificationConfirmation(types.NewDateTime(time.Now()), int(c.cfg.HeartbeatInterval/time.Second), core.RegistrationStatusAccepted), nil
}

// OnHeartbeat gives the home's time.
func (h handler) OnHeartbeat(string, *core.HeartbeatRequest) (*core.HeartbeatConfirmation, error) {
	h.called(nil)
	return core.NewHeartbeatConfirmation(types.NewDateTime(time.Now())), nil
}

// OnStatusNotification takes the steered connector's status.
func (h handler) OnStatusNotification(_ string, r *core.StatusNotificationRequest) (*core.StatusNotificationConfirmation, error) {
	if r.ConnectorId != h.c.cfg.Connector {
		h.called(nil)
	} else {
		h.called(func(s station) station { return s.statusOf(r.Status) })
	}
	return core.NewStatusNotificationConfirmation(), nil
}

// OnMeterValues takes the steered connector's newest meter value.
func (h handler) OnMeterValues(_ string, r *core.MeterValuesRequest) (*core.MeterValuesConfirmation, error) {
	if r.ConnectorId != h.c.cfg.Connector || len(r.MeterValue) == 0 {
		h.called(nil)
	} else {
		m := decodeSamples(r.MeterValue[len(r.MeterValue)-1].SampledValue, h.c.cfg.elec())
		h.called(func(s station) station { return s.meterOf(m) })
	}
	return core.NewMeterValuesConfirmation(), nil
}

// OnAuthorize accepts every tag: the charger is the home's own.
func (h handler) OnAuthorize(string, *core.AuthorizeRequest) (*core.AuthorizeConfirmation, error) {
	h.called(nil)
	return core.NewAuthorizationConfirmation(types.NewIdTagInfo(types.AuthorizationStatusAccepted)), nil
}

// OnStartTransaction accepts the transaction and gives it an id.
func (h handler) OnStartTransaction(_ string, r *core.StartTransactionRequest) (*core.StartTransactionConfirmation, error) {
	c := h.c
	c.mu.Lock()
	c.txSeq++
	id := c.txSeq
	c.mu.Unlock()
	if r.ConnectorId == c.cfg.Connector {
		h.called(func(s station) station { return s.start(id, float64(r.MeterStart)) })
	} else {
		h.called(nil)
	}
	c.log.Info("transaction started", "connector", r.ConnectorId, "transaction", id, "meter_start_wh", r.MeterStart)
	return core.NewStartTransactionConfirmation(types.NewIdTagInfo(types.AuthorizationStatusAccepted), id), nil
}

// OnStopTransaction ends the transaction.
func (h handler) OnStopTransaction(_ string, r *core.StopTransactionRequest) (*core.StopTransactionConfirmation, error) {
	h.called(func(s station) station { return s.stop(r.TransactionId) })
	h.c.log.Info("transaction stopped", "transaction", r.TransactionId, "meter_stop_wh", r.MeterStop, "reason", r.Reason)
	conf := core.NewStopTransactionConfirmation()
	if r.IdTag != "" {
		conf.IdTagInfo = types.NewIdTagInfo(types.AuthorizationStatusAccepted)
	}
	return conf, nil
}

// OnDataTransfer answers that the home knows no vendor's extension, as
// OCPP 1.6 asks of a recipient without one (UnknownVendorId).
func (h handler) OnDataTransfer(_ string, r *core.DataTransferRequest) (*core.DataTransferConfirmation, error) {
	h.called(nil)
	h.c.log.Info("charger sent a vendor data transfer; none is known", "vendor", strings.TrimSpace(r.VendorId), "message", r.MessageId)
	return core.NewDataTransferConfirmation(core.DataTransferStatusUnknownVendorId), nil
}
