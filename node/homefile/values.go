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

// Power is a power in watts, written as a number of watts or with a unit:
// "5000", "5000 W", "5 kW", "-1.5kW". It must be finite and within a home's
// range.
type Power gridmesh.W

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *Power) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "power: want a number of watts or e.g. \"5 kW\"")
	}
	s := strings.TrimSpace(n.Value)
	scale := 1.0
	switch ls := strings.ToLower(s); {
	case strings.HasSuffix(ls, "kw"):
		scale, s = 1000, strings.TrimSpace(s[:len(s)-2])
	case strings.HasSuffix(ls, "w"):
		s = strings.TrimSpace(s[:len(s)-1])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return lineError(n, "power %q: want a number of watts or e.g. \"5 kW\"", n.Value)
	}
	v *= scale
	if math.Abs(v) > float64(gridmesh.MaxHomePowerW) {
		return lineError(n, "power %q: beyond %v", n.Value, gridmesh.MaxHomePowerW)
	}
	*p = Power(v)
	return nil
}

// Energy is an energy in watt-hours: "13500", "13.5 kWh", "13500 Wh".
type Energy gridmesh.Wh

// UnmarshalYAML implements yaml.Unmarshaler.
func (e *Energy) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "energy: want a number of watt-hours or e.g. \"13.5 kWh\"")
	}
	s := strings.TrimSpace(n.Value)
	scale := 1.0
	switch ls := strings.ToLower(s); {
	case strings.HasSuffix(ls, "kwh"):
		scale, s = 1000, strings.TrimSpace(s[:len(s)-3])
	case strings.HasSuffix(ls, "wh"):
		s = strings.TrimSpace(s[:len(s)-2])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return lineError(n, "energy %q: want a non-negative number of watt-hours or e.g. \"13.5 kWh\"", n.Value)
	}
	v *= scale
	if v > float64(gridmesh.MaxHomeEnergyWh) {
		return lineError(n, "energy %q: beyond %v Wh", n.Value, float64(gridmesh.MaxHomeEnergyWh))
	}
	*e = Energy(v)
	return nil
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
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "fraction: want a number in [0, 1] or a percentage")
	}
	s := strings.TrimSpace(n.Value)
	scale := 1.0
	if strings.HasSuffix(s, "%") {
		scale, s = 0.01, strings.TrimSpace(s[:len(s)-1])
	}
	v, err := strconv.ParseFloat(s, 64)
	v *= scale
	if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
		return lineError(n, "fraction %q: want a number in [0, 1] or a percentage", n.Value)
	}
	*f = Fraction(v)
	return nil
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
