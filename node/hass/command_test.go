package hass

import (
	"math"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		setting, payload string
		ok               bool
		check            func(c changeView) bool
	}{
		{"reserve_pct", "30", true, func(c changeView) bool { return c.reserve != nil && *c.reserve == 30 }},
		{"reserve_pct", " 12.5\n", true, func(c changeView) bool { return c.reserve != nil && *c.reserve == 12.5 }},
		{"reserve_pct", "lots", false, nil},
		{"opt_out_next", "ON", true, func(c changeView) bool { return c.optOut != nil && *c.optOut }},
		{"paused", "off", true, func(c changeView) bool { return c.paused != nil && !*c.paused }},
		{"paused", "maybe", false, nil},
		{"unknown", "ON", false, nil},
	} {
		c, err := ParseCommand(tc.setting, []byte(tc.payload))
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: err %v", tc.setting, tc.payload, err)
			continue
		}
		if tc.ok && !tc.check(changeView{c.ReservePct, c.OptOutNext, c.Paused}) {
			t.Errorf("%s %q: %+v", tc.setting, tc.payload, c)
		}
	}
}

type changeView struct {
	reserve        *float64
	optOut, paused *bool
}

// Commands come from anyone who may publish on the broker: no payload
// may panic, and exactly one setting is changed by one that is accepted.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"reserve_pct", "opt_out_next", "paused", "x"} {
		f.Add(s, []byte("ON"))
		f.Add(s, []byte("42"))
	}
	f.Add("reserve_pct", []byte("NaN"))
	f.Fuzz(func(t *testing.T, setting string, payload []byte) {
		c, err := ParseCommand(setting, payload)
		if err != nil {
			return
		}
		n := 0
		if c.ReservePct != nil {
			n++
			_ = math.IsNaN(*c.ReservePct) // range is the settings' rule (control.ApplyOwnerChange)
		}
		if c.OptOutNext != nil {
			n++
		}
		if c.Paused != nil {
			n++
		}
		if n != 1 || c.PauseFor != "" {
			t.Fatalf("%s %q: %+v", setting, payload, c)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.Broker = "tcp://127.0.0.1:1883"
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Config){
		"no broker":      func(c *Config) { c.Broker = "" },
		"http broker":    func(c *Config) { c.Broker = "http://x" },
		"wildcard base":  func(c *Config) { c.BaseTopic = "a/#" },
		"trailing slash": func(c *Config) { c.DiscoveryPrefix = "homeassistant/" },
		"no period":      func(c *Config) { c.Period = 0 },
	} {
		c := good
		change(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
