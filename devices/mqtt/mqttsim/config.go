package mqttsim

import (
	"errors"
	"fmt"
	"time"

	"github.com/gridmesh/gridmesh/devices/mqtt"
)

// DefaultPeriod is how often a Sim publishes by default: once a second,
// the pace of a responsive gateway, well inside the driver's default
// stale time.
const DefaultPeriod = time.Second

// ErrInvalidConfig is wrapped by every Config.Validate error.
var ErrInvalidConfig = errors.New("mqttsim: invalid config")

// Config is a simulated device as the broker sees it.
type Config struct {
	// Device is the device as its driver is configured: broker,
	// credentials, kind, topics, Fields, SoCPercent, QoS and reconnect
	// backoff are used as they are; ClientID, SetTemplate and StaleAfter
	// are the driver's own and not used.
	Device mqtt.Config
	// ClientID identifies the simulator at the broker. Empty:
	// "gridmesh-sim-<Device.Device>-<random>".
	ClientID string
	// Period is how often the state is published.
	Period time.Duration
	// SetField is the JSON key of the setpoint in a set payload: a number
	// (watts), or true/false for loads.
	SetField string
}

// DefaultConfig returns a config for a device of kind k, matching
// mqtt.DefaultConfig(k) (whose Broker and topics are still to be set),
// publishing every DefaultPeriod.
func DefaultConfig(k mqtt.Kind) Config {
	return Config{Device: mqtt.DefaultConfig(k), Period: DefaultPeriod, SetField: defaultSetField(k)}
}

// defaultSetField is the key the driver's default SetTemplate writes.
func defaultSetField(k mqtt.Kind) string {
	switch k {
	case mqtt.KindMeter:
		return ""
	case mqtt.KindPV:
		return "limit_w"
	case mqtt.KindLoads:
		return "shed"
	default:
		return "power_w"
	}
}

// Validate checks the device config and the simulator's own settings.
func (c Config) Validate() error {
	var errs []error
	if err := c.Device.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	if c.Period <= 0 {
		errs = append(errs, fmt.Errorf("%w: period %v must be positive", ErrInvalidConfig, c.Period))
	}
	if c.Device.SetTopic != "" && c.SetField == "" {
		errs = append(errs, fmt.Errorf("%w: a set topic needs a SetField", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}
