package node_test

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/node"
)

// The reporting rules must keep a home at rest in the leader's plans:
// a heartbeat the leader's age limit does not outlast, looks at the
// reading at the home's report period.
func TestConfigValidateReporting(t *testing.T) {
	base := node.DefaultConfig()
	base.Home, base.Neighborhood = "h1", "nb"
	if err := base.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for name, tweak := range map[string]func(c *node.Config){
		"heartbeat as long as the age limit": func(c *node.Config) {
			c.Report = control.DefaultReportConfig(c.TelemetryPeriod)
			c.Report.Heartbeat = c.TelemetryMaxAge
		},
		"default heartbeat outlasting a shortened age limit": func(c *node.Config) { c.TelemetryMaxAge = 2 * time.Second },
		"looks at another period": func(c *node.Config) {
			c.Report = control.DefaultReportConfig(c.TelemetryPeriod / 2)
		},
		"negative deadband": func(c *node.Config) {
			c.Report = control.DefaultReportConfig(c.TelemetryPeriod)
			c.Report.PowerDeadbandW = -gridmesh.W(1)
		},
		"shedding without a calm": func(c *node.Config) {
			c.Shedding = control.DefaultSheddingConfig(c.LoopPeriod, c.TelemetryPeriod)
			c.Shedding.Calm = 0
		},
	} {
		c := base
		tweak(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
