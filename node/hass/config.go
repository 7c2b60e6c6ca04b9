package hass

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is where and how a home publishes to Home Assistant.
type Config struct {
	// Broker is the MQTT broker's URL: tcp://host:1883, ssl://host:8883
	// or ws://host/path.
	Broker string
	// Username and Password authenticate to the broker ("" for none).
	Username, Password string
	// BaseTopic begins the home's topics (default "gridmesh"): the home
	// publishes under <BaseTopic>/v1/<home>/.
	BaseTopic string
	// DiscoveryPrefix is Home Assistant's discovery prefix (default
	// "homeassistant", HA's own default).
	DiscoveryPrefix string
	// ClientID is the MQTT client ID ("" for gridmesh-<home>).
	ClientID string
	// Period is how often the state is published (default 10 s).
	Period time.Duration
}

// DefaultConfig has the defaults: base topic "gridmesh", discovery prefix
// "homeassistant", state every 10 s. Why 10 s: Home Assistant's energy
// dashboard sums hourly and its history graphs plot minutes; a home's
// state every 10 s is fresh enough to watch and a few kB a minute.
func DefaultConfig() Config {
	return Config{BaseTopic: "gridmesh", DiscoveryPrefix: "homeassistant", Period: 10 * time.Second}
}

// Validate checks the broker URL, the topics and the period.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Broker)
	switch {
	case c.Broker == "":
		errs = append(errs, errors.New("broker is required"))
	case err != nil:
		errs = append(errs, fmt.Errorf("broker: %w", err))
	case u.Scheme != "tcp" && u.Scheme != "ssl" && u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "mqtt" && u.Scheme != "mqtts":
		errs = append(errs, fmt.Errorf("broker %q: scheme must be tcp, ssl, mqtt, mqtts, ws or wss", c.Broker))
	}
	for name, t := range map[string]string{"base topic": c.BaseTopic, "discovery prefix": c.DiscoveryPrefix} {
		if t == "" || strings.ContainsAny(t, "+#") || strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") {
			errs = append(errs, fmt.Errorf("%s %q: want a topic without wildcards or leading/trailing '/'", name, t))
		}
	}
	if c.Period <= 0 {
		errs = append(errs, fmt.Errorf("period %v must be positive", c.Period))
	}
	return errors.Join(errs...)
}
