package regulation_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node/regulation"
)

func TestParseCSV(t *testing.T) {
	step, vs, err := regulation.ParseCSV(strings.NewReader("time_s,value\n0,0.1\n# note\n\n2,-0.5\r\n4, 1 \n"))
	if err != nil {
		t.Fatal(err)
	}
	if step != 2*time.Second || len(vs) != 3 || vs[1] != -0.5 || vs[2] != 1 {
		t.Fatalf("step %v values %v", step, vs)
	}
	for name, tc := range map[string]struct{ in, msg string }{
		"out of range":  {"0,0\n1,1.5\n", "line 2"},
		"uneven step":   {"0,0\n1,0\n3,0\n", "row 3"},
		"one row":       {"0,0\n", "1 rows"},
		"not numbers":   {"0,0\n1,x\n", "line 2"},
		"no comma":      {"0 0\n1 0\n", "line 1"},
		"three fields":  {"0,0\n# c\n1,0,0\n", "line 3"},
		"backwards":     {"2,0\n1,0\n", "step"},
		"NaN":           {"0,NaN\n1,0\n", "line 1"},
		"giant line":    {"0,0\n1," + strings.Repeat("1", 5000) + "\n", "line 2"},
		"header only":   {"time_s,value\n", "0 rows"},
		"second header": {"0,0\ntime_s,value\n", "line 2"},
		"bare quote":    {"0,0\n1,0\"\n", "line 2"},
		"first quote":   {"0\"x,0\n1,0\n", "line 1"},
		"open quote":    {"\"0,0\n1,0\n", "line 2"},
		"lone quote":    {"\"", "line 1"},
	} {
		_, _, err := regulation.ParseCSV(strings.NewReader(tc.in))
		if !errors.Is(err, regulation.ErrCSV) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want ErrCSV naming %q", name, err, tc.msg)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("time_s,value\n0,0.1\n2,-0.5\n4,1\n"))
	f.Add([]byte("0,0\n0.5,1\n1,-1\n"))
	f.Add([]byte("# c\n\"0\",\"0\"\r\n1,0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		step, vs, err := regulation.ParseCSV(strings.NewReader(string(b)))
		if err != nil {
			if !errors.Is(err, regulation.ErrCSV) {
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
