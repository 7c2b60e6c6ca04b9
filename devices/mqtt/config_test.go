package mqtt

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// validConfig is DefaultConfig(k) with a broker and topics.
func validConfig(k Kind) Config {
	c := DefaultConfig(k)
	c.Broker = "tcp://127.0.0.1:1883"
	c.StateTopic = "home/" + string(k) + "/state"
	if k != KindMeter {
		c.SetTopic = "home/" + string(k) + "/set"
	}
	return c
}

func TestDefaultConfigValidates(t *testing.T) {
	for _, k := range Kinds() {
		if err := validConfig(k).Validate(); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}

func TestDefaultConfigFieldsAreFresh(t *testing.T) {
	a := DefaultConfig(KindBattery)
	a.Fields["power"] = "changed"
	if b := DefaultConfig(KindBattery); b.Fields["power"] != "power_w" {
		t.Fatalf("DefaultConfig shares its Fields map: got %q", b.Fields["power"])
	}
}

func TestConfigValidateRefuses(t *testing.T) {
	cases := map[string]struct {
		kind   Kind
		mutate func(*Config)
		want   string
	}{
		"unknown kind":          {KindBattery, func(c *Config) { c.Kind = "boiler" }, "kind"},
		"no device name":        {KindBattery, func(c *Config) { c.Device = "" }, "device name"},
		"no broker":             {KindBattery, func(c *Config) { c.Broker = "" }, "broker"},
		"broker scheme":         {KindBattery, func(c *Config) { c.Broker = "ssl://127.0.0.1:8883" }, "tcp://"},
		"broker without port":   {KindBattery, func(c *Config) { c.Broker = "tcp://127.0.0.1" }, "port"},
		"broker with path":      {KindBattery, func(c *Config) { c.Broker = "tcp://127.0.0.1:1883/x" }, "nothing more"},
		"broker with user":      {KindBattery, func(c *Config) { c.Broker = "tcp://u:p@127.0.0.1:1883" }, "credentials"},
		"password alone":        {KindBattery, func(c *Config) { c.Password = "secret" }, "username"},
		"no state topic":        {KindBattery, func(c *Config) { c.StateTopic = "" }, "state topic"},
		"wildcard state topic":  {KindBattery, func(c *Config) { c.StateTopic = "home/+/state" }, "wildcards"},
		"multi-level wildcard":  {KindBattery, func(c *Config) { c.StateTopic = "home/#" }, "wildcards"},
		"battery no set topic":  {KindBattery, func(c *Config) { c.SetTopic = "" }, "needs a set topic"},
		"wildcard set topic":    {KindPV, func(c *Config) { c.SetTopic = "home/#" }, "wildcards"},
		"same topics":           {KindCharger, func(c *Config) { c.SetTopic = c.StateTopic }, "own setpoints"},
		"meter with set topic":  {KindMeter, func(c *Config) { c.SetTopic = "home/meter/set" }, "no setpoints"},
		"meter with template":   {KindMeter, func(c *Config) { c.SetTemplate = "{{.PowerW}}" }, "no setpoints"},
		"meter with a release":  {KindMeter, func(c *Config) { c.ReleasePayload = "auto" }, "release payload needs a set topic"},
		"loads will, no topic":  {KindLoads, func(c *Config) { c.SetTopic, c.WillPayload = "", "auto" }, "will payload needs a set topic"},
		"zero resolution":       {KindBattery, func(c *Config) { c.ResolutionW = 0 }, "resolution"},
		"resolution in kW":      {KindBattery, func(c *Config) { c.ResolutionW = 5000 }, "resolution"},
		"huge release":          {KindBattery, func(c *Config) { c.ReleasePayload = strings.Repeat("x", 1<<17) }, "at most"},
		"template syntax":       {KindBattery, func(c *Config) { c.SetTemplate = "{{.PowerW" }, "set template"},
		"template unknown name": {KindBattery, func(c *Config) { c.SetTemplate = `{"w": {{.Watts}}}` }, "set template"},
		"template empty output": {KindHeatPump, func(c *Config) { c.SetTemplate = "{{if false}}x{{end}}" }, "empty"},
		"unknown field":         {KindBattery, func(c *Config) { c.Fields["voltage"] = "v" }, `no field "voltage"`},
		"required unmapped":     {KindBattery, func(c *Config) { c.Fields["soc"] = "" }, `"soc" is required`},
		"required deleted":      {KindLoads, func(c *Config) { delete(c.Fields, "shed") }, `"shed" is required`},
		"percent on a pv":       {KindPV, func(c *Config) { c.SoCPercent = true }, "SoCPercent"},
		"qos 3":                 {KindBattery, func(c *Config) { c.QoS = 3 }, "QoS"},
		"no stale time":         {KindBattery, func(c *Config) { c.StaleAfter = 0 }, "StaleAfter"},
		"no backoff":            {KindBattery, func(c *Config) { c.ReconnectMin = 0 }, "backoff"},
		"backoff upside down":   {KindBattery, func(c *Config) { c.ReconnectMax = time.Millisecond }, "backoff"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := validConfig(tc.kind)
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrInvalidConfig mentioning %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidateAccepts(t *testing.T) {
	cases := map[string]struct {
		kind   Kind
		mutate func(*Config)
	}{
		"loads without set topic": {KindLoads, func(c *Config) { c.SetTopic = "" }},
		"optional field unmapped": {KindMeter, func(c *Config) { c.Fields["voltage"] = "" }},
		"renamed field":           {KindBattery, func(c *Config) { c.Fields["soc"] = "SOC_pct"; c.SoCPercent = true }},
		"plain number template":   {KindPV, func(c *Config) { c.SetTemplate = "{{.PowerW}}" }},
		"credentials":             {KindBattery, func(c *Config) { c.Username, c.Password = "u", "p" }},
		"qos 0":                   {KindBattery, func(c *Config) { c.QoS = 0 }},
		"host name":               {KindBattery, func(c *Config) { c.Broker = "tcp://broker.local:1883" }},
	}
	for name, tc := range cases {
		c := validConfig(tc.kind)
		tc.mutate(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	c := validConfig(KindBattery)
	c.QoS, c.StaleAfter, c.StateTopic = 7, -1, ""
	err := c.Validate()
	for _, want := range []string{"QoS", "StaleAfter", "state topic"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}
