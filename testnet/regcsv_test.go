package testnet_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

func TestParseRegulationCSV(t *testing.T) {
	step, vs, err := testnet.ParseRegulationCSV(strings.NewReader("time_s,value\n0,0.1\n# note\n\n2,-0.5\n4,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if step != 2*time.Second || len(vs) != 3 || vs[1] != -0.5 {
		t.Fatalf("step %v values %v", step, vs)
	}
	for name, in := range map[string]string{
		"out of range":  "0,0\n1,1.5\n",
		"uneven step":   "0,0\n1,0\n3,0\n",
		"one row":       "0,0\n",
		"not numbers":   "0,0\n1,x\n",
		"no comma":      "0 0\n1 0\n",
		"backwards":     "2,0\n1,0\n",
		"NaN":           "0,NaN\n1,0\n",
		"giant line":    "0," + strings.Repeat("1", 5000) + "\n",
		"header only":   "time_s,value\n",
		"second header": "0,0\ntime_s,value\n",
	} {
		if _, _, err := testnet.ParseRegulationCSV(strings.NewReader(in)); !errors.Is(err, testnet.ErrRegulationCSV) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseRegulationCSV(f *testing.F) {
	f.Add([]byte("time_s,value\n0,0.1\n2,-0.5\n4,1\n"))
	f.Add([]byte("0,0\n0.5,1\n1,-1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		step, vs, err := testnet.ParseRegulationCSV(strings.NewReader(string(b)))
		if err != nil {
			if !errors.Is(err, testnet.ErrRegulationCSV) {
				t.Fatalf("error wraps nothing: %v", err)
			}
			return
		}
		if step <= 0 || len(vs) < 2 {
			t.Fatalf("accepted step %v, %d values", step, len(vs))
		}
		for _, v := range vs {
			if math.IsNaN(v) || v < -1 || v > 1 {
				t.Fatalf("accepted value %v", v)
			}
		}
	})
}

// The generated signal is deterministic, in range, moves, and is near
// energy-neutral.
func TestGenerateRegD(t *testing.T) {
	a := testnet.GenerateRegD(1, 2*time.Second, 450)
	b := testnet.GenerateRegD(1, 2*time.Second, 450)
	var sum, lo, hi float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("value %d differs between runs", i)
		}
		if a[i] < -1 || a[i] > 1 {
			t.Fatalf("value %d = %v", i, a[i])
		}
		sum += a[i]
		lo, hi = min(lo, a[i]), max(hi, a[i])
	}
	if hi-lo < 1 {
		t.Errorf("the signal spans [%v, %v] only", lo, hi)
	}
	if mean := sum / float64(len(a)); math.Abs(mean) > 0.2 {
		t.Errorf("mean %v over 15 minutes: not near energy-neutral", mean)
	}
}
