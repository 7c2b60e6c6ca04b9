package ocppsim

import (
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
)

// coreHandler answers the central system's Core requests: its
// configuration (the rate units); the rest is not supported.
type coreHandler struct{ s *Sim }

const rateUnitKey = "ChargingScheduleAllowedChargingRateUnit"

func (h coreHandler) OnGetConfiguration(r *core.GetConfigurationRequest) (*core.GetConfigurationConfirmation, error) {
	v := h.s.cfg.RateUnits
	known := []core.ConfigurationKey{{Key: rateUnitKey, Readonly: true, Value: &v}}
	conf := core.NewGetConfigurationConfirmation(known)
	if len(r.Key) > 0 {
		conf.ConfigurationKey = nil
		for _, k := range r.Key {
			if k == rateUnitKey {
				conf.ConfigurationKey = known
			} else {
				conf.UnknownKey = append(conf.UnknownKey, k)
			}
		}
	}
	return conf, nil
}

func (coreHandler) OnChangeAvailability(*core.ChangeAvailabilityRequest) (*core.ChangeAvailabilityConfirmation, error) {
	return core.NewChangeAvailabilityConfirmation(core.AvailabilityStatusRejected), nil
}

func (coreHandler) OnChangeConfiguration(*core.ChangeConfigurationRequest) (*core.ChangeConfigurationConfirmation, error) {
	return core.NewChangeConfigurationConfirmation(core.ConfigurationStatusNotSupported), nil
}

func (coreHandler) OnClearCache(*core.ClearCacheRequest) (*core.ClearCacheConfirmation, error) {
	return core.NewClearCacheConfirmation(core.ClearCacheStatusRejected), nil
}

func (coreHandler) OnDataTransfer(*core.DataTransferRequest) (*core.DataTransferConfirmation, error) {
	return core.NewDataTransferConfirmation(core.DataTransferStatusUnknownVendorId), nil
}

func (coreHandler) OnRemoteStartTransaction(*core.RemoteStartTransactionRequest) (*core.RemoteStartTransactionConfirmation, error) {
	return core.NewRemoteStartTransactionConfirmation("Rejected"), nil
}

func (coreHandler) OnRemoteStopTransaction(*core.RemoteStopTransactionRequest) (*core.RemoteStopTransactionConfirmation, error) {
	return core.NewRemoteStopTransactionConfirmation("Rejected"), nil
}

func (coreHandler) OnReset(*core.ResetRequest) (*core.ResetConfirmation, error) {
	return core.NewResetConfirmation(core.ResetStatusRejected), nil
}

func (coreHandler) OnUnlockConnector(*core.UnlockConnectorRequest) (*core.UnlockConnectorConfirmation, error) {
	return core.NewUnlockConnectorConfirmation(core.UnlockStatusNotSupported), nil
}
