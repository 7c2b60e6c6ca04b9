package gridmesh_test

import (
	"errors"
	"math"
	"testing"

	"github.com/gridmesh/gridmesh"
)

// A regulation step signs its value: changing the value breaks the
// signature, and values outside [-1, 1], or on a cut, are invalid.
func TestRegulationStepValueIsSigned(t *testing.T) {
	pub, priv := operatorKey()
	s := validSignal()
	s.Kind, s.Value = gridmesh.SignalRegulation, 0.25
	if err := s.Sign(priv); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(pub, sigNow); err != nil {
		t.Fatal(err)
	}
	forged := s
	forged.Value = 1
	if err := forged.Verify(pub, sigNow); !errors.Is(err, gridmesh.ErrBadSignature) {
		t.Fatalf("a changed value verified: %v", err)
	}
	negZero := validSignal()
	negZero.Kind, negZero.Value = gridmesh.SignalRegulation, math.Copysign(0, -1)
	if err := negZero.Sign(priv); err != nil {
		t.Fatal(err)
	}
	negZero.Value = 0 // as it decodes: omitted
	if err := negZero.Verify(pub, sigNow); err != nil {
		t.Fatalf("-0 signed differently from 0: %v", err)
	}
	for name, v := range map[string]float64{"above 1": 1.01, "below -1": -1.5, "NaN": math.NaN()} {
		bad := validSignal()
		bad.Kind, bad.Value = gridmesh.SignalRegulation, v
		if err := bad.Validate(); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	cut := validSignal()
	cut.Value = 0.5
	if err := cut.Validate(); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("a cut with a value: %v", err)
	}
}
