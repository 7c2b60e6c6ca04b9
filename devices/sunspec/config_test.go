package sunspec

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Addr = "192.0.2.7:502"
	if err := ok.Validate(); err != nil {
		t.Fatalf("default with an address: %v", err)
	}
	if err := DefaultConfig().Validate(); err == nil {
		t.Error("default without an address accepted")
	}
	for name, mod := range map[string]func(*Config){
		"no port":           func(c *Config) { c.Addr = "192.0.2.7" },
		"port 0":            func(c *Config) { c.Addr = "192.0.2.7:0" },
		"no host":           func(c *Config) { c.Addr = ":502" },
		"zero timeout":      func(c *Config) { c.Timeout = 0 },
		"long timeout":      func(c *Config) { c.Timeout = time.Hour },
		"no name":           func(c *Config) { c.Device = "" },
		"sub-second revert": func(c *Config) { c.ReversionTimeout = 500 * time.Millisecond },
		"18 h 12 m revert":  func(c *Config) { c.ReversionTimeout = 0xFFFF * time.Second },
		"no bases":          func(c *Config) { c.Bases = nil },
		"no models":         func(c *Config) { c.MaxModels = 0 },
		"unset efficiency":  func(c *Config) { c.RoundTripEfficiency = 0 },
		"40 % efficiency":   func(c *Config) { c.RoundTripEfficiency = 0.4 },
		"efficiency in %":   func(c *Config) { c.RoundTripEfficiency = 90 },
		"NaN efficiency":    func(c *Config) { c.RoundTripEfficiency = math.NaN() },
		"negative interval": func(c *Config) { c.MinWriteInterval = -time.Second },
		"a minute interval": func(c *Config) { c.MinWriteInterval = time.Minute },
		"no refresh room":   func(c *Config) { c.ReversionTimeout, c.MinWriteInterval = 2*time.Second, 1500*time.Millisecond },
		"negative deadband": func(c *Config) { c.DeadbandW = -1 },
		"deadband in kW":    func(c *Config) { c.DeadbandW = 5_000 },
		"NaN deadband":      func(c *Config) { c.DeadbandW = gridmesh.W(math.NaN()) },
		"unknown rates":     func(c *Config) { c.StorageRates = "limit" },
	} {
		c := ok
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := ok
	c.ReversionTimeout = 1500 * time.Millisecond
	if got := c.reversionSecs(); got != 2 {
		t.Errorf("1.5 s reverts after %d s, want 2 (rounded up)", got)
	}
}
