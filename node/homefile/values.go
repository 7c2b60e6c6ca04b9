package homefile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gridmesh/gridmesh"
)

// lineError names the line of a YAML node in an error.
func lineError(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", n.Line, fmt.Sprintf(format, args...))
}

// unit is a suffix a quantity may carry and what it multiplies by.
type unit struct {
	suffix string
	scale  float64
}

// quantity parses a number with an optional unit suffix (the longest
// suffixes first in units) and checks it lies in [lo, hi].
func quantity(n *yaml.Node, what, example string, units []unit, lo, hi float64) (float64, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, lineError(n, "%s: want a number or e.g. %q", what, example)
	}
	s, scale := strings.TrimSpace(n.Value), 1.0
	for _, u := range units {
		if strings.HasSuffix(strings.ToLower(s), u.suffix) {
			s, scale = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.scale
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, lineError(n, "%s %q: want a number or e.g. %q", what, n.Value, example)
	}
	v *= scale
	if v < lo || v > hi {
		return 0, lineError(n, "%s %q: outside [%g, %g]", what, n.Value, lo, hi)
	}
	return v, nil
}

// Power is a power in watts, written as a number of watts or with a unit:
// "5000", "5000 W", "5 kW", "-1.5kW". It must be within a home's range.
type Power gridmesh.W

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *Power) UnmarshalYAML(n *yaml.Node) error {
	limit := float64(gridmesh.MaxHomePowerW)
	v, err := quantity(n, "power", "5 kW", []unit{{"kw", 1000}, {"w", 1}}, -limit, limit)
	*p = Power(v)
	return err
}

// Energy is an energy in watt-hours: "13500", "13.5 kWh", "13500 Wh".
type Energy gridmesh.Wh

// UnmarshalYAML implements yaml.Unmarshaler.
func (e *Energy) UnmarshalYAML(n *yaml.Node) error {
	v, err := quantity(n, "energy", "13.5 kWh", []unit{{"kwh", 1000}, {"wh", 1}}, 0, float64(gridmesh.MaxHomeEnergyWh))
	*e = Energy(v)
	return err
}

// Duration is a Go duration string: "500ms", "3s", "1m30s". It must be
// positive.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "duration: want e.g. \"3s\"")
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil || v <= 0 {
		return lineError(n, "duration %q: want a positive duration such as \"3s\"", n.Value)
	}
	*d = Duration(v)
	return nil
}

// Fraction is a share in [0, 1], also written as a percentage: "0.6",
// "60%".
type Fraction float64

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *Fraction) UnmarshalYAML(n *yaml.Node) error {
	v, err := quantity(n, "fraction", "60%", []unit{{"%", 0.01}}, 0, 1)
	*f = Fraction(v)
	return err
}

// ID is an identifier (home, neighborhood, network, device name):
// letters, digits, '.', '_' and '-'.
type ID string

// UnmarshalYAML implements yaml.Unmarshaler.
func (id *ID) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "identifier: want a name")
	}
	if gridmesh.HomeID(n.Value).Validate() != nil {
		return lineError(n, "identifier %q: want 1 to %d letters, digits, '.', '_' or '-'", n.Value, gridmesh.MaxIDLen)
	}
	*id = ID(n.Value)
	return nil
}
