package homefile

import (
	"fmt"
	"time"

	"github.com/gridmesh/gridmesh/node/hass"
)

// MQTTPublish publishes the home to Home Assistant through an MQTT broker
// with HA's MQTT discovery (docs/HOME_ASSISTANT.md):
//
//	mqtt_publish:
//	  broker: tcp://homeassistant.local:1883
//	  username: gridmesh
//	  password: secret
//	  base_topic: gridmesh            # default; topics are gridmesh/v1/<home>/...
//	  discovery_prefix: homeassistant # default, Home Assistant's own
//	  period: 10s                     # state every period (default 10 s)
type MQTTPublish struct {
	Broker          string    `yaml:"broker"`
	Username        string    `yaml:"username"`
	Password        string    `yaml:"password"`
	ClientID        string    `yaml:"client_id"`
	BaseTopic       string    `yaml:"base_topic"`
	DiscoveryPrefix string    `yaml:"discovery_prefix"`
	Period          *Duration `yaml:"period"`
}

// config is the publisher's configuration: the block over the defaults.
func (m *MQTTPublish) config() (*hass.Config, error) {
	c := hass.DefaultConfig()
	c.Broker, c.Username, c.Password, c.ClientID = m.Broker, m.Username, m.Password, m.ClientID
	if m.BaseTopic != "" {
		c.BaseTopic = m.BaseTopic
	}
	if m.DiscoveryPrefix != "" {
		c.DiscoveryPrefix = m.DiscoveryPrefix
	}
	if m.Period != nil {
		c.Period = time.Duration(*m.Period)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("mqtt_publish: %w", err)
	}
	return &c, nil
}
