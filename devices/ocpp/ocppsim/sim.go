package ocppsim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/lorenzodonini/ocpp-go/ocpp"
	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/remotetrigger"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/smartcharging"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

// Config is a simulated charge point.
type Config struct {
	// ID is the charge point's identity, the last element of its URL.
	ID string
	// Connector is the connector the car is at.
	Connector int
	// Phases and VoltageV convert a limit in amperes to a power.
	Phases   int
	VoltageV float64
	// RateUnits is its ChargingScheduleAllowedChargingRateUnit:
	// "Current", "Power" or "Current,Power".
	RateUnits string
	// Period is how often it meters and reports.
	Period time.Duration
	// NoBoot: it does not send BootNotification on connecting (as a
	// charger that reconnects without rebooting), only when triggered.
	NoBoot bool
	// CurrentOnly: its MeterValues carry Current.Import per phase and no
	// power.
	CurrentOnly bool
}

// Answer is how the charge point answers charging profiles.
type Answer struct {
	// Reject: it refuses them.
	Reject bool
	// Hold: it does not answer until Hold is closed.
	Hold chan struct{}
}

// Sim is a running simulated charge point.
type Sim struct {
	cfg Config
	car devices.Charger
	cp  ocpp16.ChargePoint

	// callMu orders Stop after every request started: ocpp-go's charge
	// point panics on a request started after its Stop.
	callMu  sync.Mutex
	stopped bool
	stopC   chan struct{}

	mu       sync.Mutex // guards below
	answer   Answer
	profiles []Received
	clears   int
	booted   bool
	status   core.ChargePointStatus
	txID     int
	energyWh float64
	lastAt   time.Time
	limit    *gridmesh.W // the power the profile allows; nil: none
	send     chan func() // requests to send from the reporting goroutine
}

// Start connects a charge point for car to the central system at url
// (ws://host:port/path) and runs it until ctx ends or Stop.
func Start(ctx context.Context, url string, cfg Config, car devices.Charger) (*Sim, error) {
	s := &Sim{cfg: cfg, car: car, send: make(chan func(), 16), lastAt: time.Now(), status: core.ChargePointStatusAvailable, stopC: make(chan struct{})}
	s.cp = ocpp16.NewChargePoint(cfg.ID, nil, nil)
	s.cp.SetCoreHandler(coreHandler{s})
	s.cp.SetSmartChargingHandler(smartHandler{s})
	s.cp.SetRemoteTriggerHandler(triggerHandler{s})
	if err := s.cp.Start(url + "/" + cfg.ID); err != nil {
		return nil, fmt.Errorf("ocppsim: connect: %w", err)
	}
	if !cfg.NoBoot {
		if err := s.boot(); err != nil {
			s.Stop()
			return nil, err
		}
	}
	go s.run(ctx)
	return s, nil
}

// Stop closes the charge point's connection; it may be called again.
func (s *Sim) Stop() {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	if !s.stopped {
		s.stopped = true
		close(s.stopC)
		s.cp.Stop()
	}
}

// call sends req and waits for its answer, unless the charge point stops.
func (s *Sim) call(req ocpp.Request) (ocpp.Response, error) {
	type answer struct {
		r   ocpp.Response
		err error
	}
	done := make(chan answer, 1)
	s.callMu.Lock()
	if s.stopped {
		s.callMu.Unlock()
		return nil, errors.New("ocppsim: stopped")
	}
	err := s.cp.SendRequestAsync(req, func(r ocpp.Response, err error) { done <- answer{r, err} })
	s.callMu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case a := <-done:
		return a.r, a.err
	case <-s.stopC:
		return nil, errors.New("ocppsim: stopped")
	}
}

// SetAnswer sets how profiles are answered from now on.
func (s *Sim) SetAnswer(a Answer) {
	s.mu.Lock()
	s.answer = a
	s.mu.Unlock()
}

// Received is a charging profile received, and when.
type Received struct {
	Profile types.ChargingProfile
	At      time.Time
}

// Profiles returns every profile received, in order.
func (s *Sim) Profiles() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.profiles...)
}

// Clears counts the ClearChargingProfile requests received.
func (s *Sim) Clears() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clears
}

// boot sends BootNotification.
func (s *Sim) boot() error {
	r, err := s.call(core.NewBootNotificationRequest("sim", "gridmesh"))
	if err != nil {
		return fmt.Errorf("ocppsim: boot: %w", err)
	}
	conf := r.(*core.BootNotificationConfirmation)
	if conf.Status != core.RegistrationStatusAccepted {
		return fmt.Errorf("ocppsim: boot %s", conf.Status)
	}
	s.mu.Lock()
	s.booted = true
	s.mu.Unlock()
	return s.report(true)
}

// run reports every Period, and sends what handlers asked to send (they
// cannot send themselves: the charge point reads its answers on the
// goroutine that calls them).
func (s *Sim) run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stopC:
			return
		case f := <-s.send:
			f()
		case <-t.C:
			if err := s.report(false); err != nil && !s.cp.IsConnected() {
				return
			}
		}
	}
}

// later queues f for the reporting goroutine.
func (s *Sim) later(f func()) {
	select {
	case s.send <- f:
	default: // a report is due anyway
	}
}

// report meters the car and tells the central system what changed (all
// of it when full): the connector's status, the transaction, the meter.
func (s *Sim) report(full bool) error {
	st, err := s.car.Charger()
	if err != nil {
		return err
	}
	s.mu.Lock()
	now := time.Now()
	s.energyWh += float64(st.PowerW) * now.Sub(s.lastAt).Hours()
	s.lastAt = now
	prev, tx, wh := s.status, s.txID, s.energyWh
	status := s.statusOf(st)
	s.status = status
	s.mu.Unlock()
	var errs []error
	if st.Connected && tx == 0 {
		errs = append(errs, s.notify(core.ChargePointStatusPreparing), s.startTx(wh))
		prev = core.ChargePointStatusPreparing
	}
	if !st.Connected && tx != 0 {
		req := core.NewStopTransactionRequest(int(wh), types.NewDateTime(now), tx)
		req.Reason = core.ReasonEVDisconnected
		_, err := s.call(req)
		errs = append(errs, err)
		s.mu.Lock()
		s.txID = 0
		s.mu.Unlock()
	}
	if full || status != prev {
		errs = append(errs, s.notify(status))
	}
	errs = append(errs, s.meter(st.PowerW, wh, now))
	return errors.Join(errs...)
}

// statusOf is the connector's status for the car's state; the caller
// holds mu.
func (s *Sim) statusOf(st gridmesh.ChargerState) core.ChargePointStatus {
	switch {
	case !st.Connected:
		return core.ChargePointStatusAvailable
	case st.PowerW > 0:
		return core.ChargePointStatusCharging
	case s.limit != nil && *s.limit <= 0:
		return core.ChargePointStatusSuspendedEVSE
	}
	return core.ChargePointStatusSuspendedEV
}

func (s *Sim) notify(st core.ChargePointStatus) error {
	_, err := s.call(core.NewStatusNotificationRequest(s.cfg.Connector, core.NoError, st))
	return err
}

func (s *Sim) startTx(wh float64) error {
	r, err := s.call(core.NewStartTransactionRequest(s.cfg.Connector, "car", int(wh), types.NewDateTime(time.Now())))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.txID = r.(*core.StartTransactionConfirmation).TransactionId
	s.mu.Unlock()
	return nil
}

// meter sends the power (or the current per phase) and the energy.
func (s *Sim) meter(w gridmesh.W, wh float64, now time.Time) error {
	e := types.SampledValue{Value: fmt.Sprintf("%.0f", wh), Measurand: types.MeasurandEnergyActiveImportRegister, Unit: types.UnitOfMeasureWh}
	vs := []types.SampledValue{e, {Value: fmt.Sprintf("%.1f", float64(w)), Measurand: types.MeasurandPowerActiveImport, Unit: types.UnitOfMeasureW}}
	if s.cfg.CurrentOnly {
		a := float64(w) / (float64(s.cfg.Phases) * s.cfg.VoltageV)
		vs = []types.SampledValue{e}
		for _, p := range []types.Phase{types.PhaseL1, types.PhaseL2, types.PhaseL3}[:s.cfg.Phases] {
			vs = append(vs, types.SampledValue{Value: fmt.Sprintf("%.3f", a), Measurand: types.MeasurandCurrentImport, Phase: p, Unit: types.UnitOfMeasureA})
		}
	}
	_, err := s.call(core.NewMeterValuesRequest(s.cfg.Connector, []types.MeterValue{{Timestamp: types.NewDateTime(now), SampledValue: vs}}))
	return err
}

// apply takes a profile: the car is limited to its first period's limit.
func (s *Sim) apply(p *types.ChargingProfile) error {
	sch := p.ChargingSchedule
	if sch == nil || len(sch.ChargingSchedulePeriod) == 0 {
		return errors.New("no schedule")
	}
	lim := sch.ChargingSchedulePeriod[0].Limit
	w := gridmesh.W(lim)
	if sch.ChargingRateUnit == types.ChargingRateUnitAmperes {
		w = gridmesh.W(lim * float64(s.cfg.Phases) * s.cfg.VoltageV)
	}
	s.mu.Lock()
	s.limit = &w
	s.mu.Unlock()
	return s.car.SetChargePower(w)
}

// clear drops every profile: the charger's default is full power.
func (s *Sim) clear() error {
	s.mu.Lock()
	s.limit = nil
	s.clears++
	s.mu.Unlock()
	st, err := s.car.Charger()
	if err != nil {
		return err
	}
	return s.car.SetChargePower(st.MaxW)
}

// smartHandler takes the central system's smart charging requests.
type smartHandler struct{ s *Sim }

func (h smartHandler) OnSetChargingProfile(r *smartcharging.SetChargingProfileRequest) (*smartcharging.SetChargingProfileConfirmation, error) {
	s := h.s
	s.mu.Lock()
	a := s.answer
	s.profiles = append(s.profiles, Received{Profile: *r.ChargingProfile, At: time.Now()})
	s.mu.Unlock()
	if a.Hold != nil {
		<-a.Hold
	}
	if a.Reject {
		return smartcharging.NewSetChargingProfileConfirmation(smartcharging.ChargingProfileStatusRejected), nil
	}
	if err := s.apply(r.ChargingProfile); err != nil {
		return smartcharging.NewSetChargingProfileConfirmation(smartcharging.ChargingProfileStatusRejected), nil
	}
	s.later(func() { _ = s.report(false) })
	return smartcharging.NewSetChargingProfileConfirmation(smartcharging.ChargingProfileStatusAccepted), nil
}

func (h smartHandler) OnClearChargingProfile(*smartcharging.ClearChargingProfileRequest) (*smartcharging.ClearChargingProfileConfirmation, error) {
	if err := h.s.clear(); err != nil {
		return nil, err
	}
	return smartcharging.NewClearChargingProfileConfirmation(smartcharging.ClearChargingProfileStatusAccepted), nil
}

func (h smartHandler) OnGetCompositeSchedule(*smartcharging.GetCompositeScheduleRequest) (*smartcharging.GetCompositeScheduleConfirmation, error) {
	return smartcharging.NewGetCompositeScheduleConfirmation(smartcharging.GetCompositeScheduleStatusRejected), nil
}

// triggerHandler answers TriggerMessage and sends what was asked.
type triggerHandler struct{ s *Sim }

func (h triggerHandler) OnTriggerMessage(r *remotetrigger.TriggerMessageRequest) (*remotetrigger.TriggerMessageConfirmation, error) {
	s := h.s
	switch r.RequestedMessage {
	case core.BootNotificationFeatureName:
		s.later(func() { _ = s.boot() })
	case core.StatusNotificationFeatureName:
		s.later(func() { _ = s.report(true) })
	default:
		return remotetrigger.NewTriggerMessageConfirmation(remotetrigger.TriggerMessageStatusNotImplemented), nil
	}
	return remotetrigger.NewTriggerMessageConfirmation(remotetrigger.TriggerMessageStatusAccepted), nil
}
