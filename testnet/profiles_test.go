package testnet

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseProfiles(t *testing.T) {
	p, err := ParseProfiles(strings.NewReader("# generated\ntime_s,load_w,pv_w\r\n0,300,0\n900,350.5,10\n1800,400,20\n\n# end\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.StepS != 900 || len(p.LoadW) != 3 || p.LoadW[1] != 350.5 || p.peakPVW != 20 {
		t.Fatalf("parsed %+v", p)
	}
	for name, tc := range map[string]struct{ in, line string }{
		"header":      {"time,load,pv\n0,1,1\n", "line 1"},
		"fields":      {"time_s,load_w,pv_w\n0,1\n", "line 2"},
		"negative":    {"time_s,load_w,pv_w\n0,1,1\n60,-1,1\n", "line 3"},
		"nan":         {"time_s,load_w,pv_w\n0,NaN,1\n", "line 2"},
		"uneven step": {"time_s,load_w,pv_w\n0,1,1\n60,1,1\n150,1,1\n", "line 4"},
		"zero step":   {"time_s,load_w,pv_w\n0,1,1\n0,1,1\n", "line 3"},
		"blank":       {"time_s,load_w,pv_w\n0,1,1\n\n60,1,1\n", "line 3"},
		"huge":        {"time_s,load_w,pv_w\n0,1e9,1\n", "line 2"},
		"one row":     {"time_s,load_w,pv_w\n0,1,1\n", "1 rows"},
		"empty":       {"", "no header"},
		"space":       {"time_s,load_w,pv_w\n0, 1,1\n", "line 2"},
		"comment":     {"time_s,load_w,pv_w\n0,1,1\n# c\n60,1,1\n", "line 3"},
		"bare quote":  {"time_s,load_w,pv_w\n0,1,1\n60,1\",1\n", "line 3"},
		"second hdr":  {"time_s,load_w,pv_w\ntime_s,load_w,pv_w\n", "line 2"},
	} {
		_, err := ParseProfiles(strings.NewReader(tc.in))
		if !errors.Is(err, ErrBadProfile) || !strings.Contains(err.Error(), tc.line) {
			t.Errorf("%s: error %v, want ErrBadProfile naming %q", name, err, tc.line)
		}
	}
}

// A file past the byte bound is refused, even if what fits would parse.
func TestParseProfilesRefusesPastTheBound(t *testing.T) {
	in := "time_s,load_w,pv_w\n0,1,1\n60,1,1\n"
	if _, err := parseProfiles(strings.NewReader(in), int64(len(in))); err != nil {
		t.Fatalf("a file of exactly the bound: %v", err)
	}
	_, err := parseProfiles(strings.NewReader(in+"120,1,1\n"), int64(len(in)))
	if !errors.Is(err, ErrBadProfile) || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("a file past the bound: %v, want ErrBadProfile naming the bytes", err)
	}
}

// A home's sources are deterministic in the seed and the home, differ
// between homes, stay non-negative, and repeat with the profile's period.
func TestProfileSources(t *testing.T) {
	p, err := ParseProfiles(strings.NewReader("time_s,load_w,pv_w\n0,300,0\n43200,900,4000\n"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 15, 17, 30, 0, 0, time.UTC)
	l1, v1 := p.homeSources(7, 0, start, 5000)
	l1b, _ := p.homeSources(7, 0, start, 5000)
	l2, _ := p.homeSources(7, 1, start, 5000)
	at := start.Add(3 * time.Hour)
	if l1.PowerAt(at) != l1b.PowerAt(at) {
		t.Fatal("same seed and home, different load")
	}
	if l1.PowerAt(at) == l2.PowerAt(at) {
		t.Fatal("two homes with the same load")
	}
	for h := range 48 {
		tt := start.Add(time.Duration(h) * time.Hour)
		if l1.PowerAt(tt) < 0 || v1.PowerAt(tt) < 0 || v1.PowerAt(tt) > 5000*1.06 {
			t.Fatalf("at %v: load %v pv %v", tt, l1.PowerAt(tt), v1.PowerAt(tt))
		}
		if a, b := l1.PowerAt(tt), l1.PowerAt(tt.Add(24*time.Hour)); a/b > 1.11 || b/a > 1.11 {
			t.Fatalf("not daily: %v then %v (jitter is ±5%%)", a, b)
		}
	}
}

func TestExampleProfileParses(t *testing.T) {
	p, err := ReadProfiles("../examples/profiles-winter-day.csv")
	if err != nil {
		t.Fatal(err)
	}
	if p.periodS() != 86_400 {
		t.Fatalf("example covers %v s, want a day", p.periodS())
	}
}

func FuzzParseProfiles(f *testing.F) {
	f.Add([]byte("time_s,load_w,pv_w\n0,300,0\n900,350,10\n"))
	f.Add([]byte("# c\ntime_s,load_w,pv_w\r\n0,1,1\r\n60,1e3,0\r\n"))
	if b, err := os.ReadFile("../examples/profiles-winter-day.csv"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfiles(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, ErrBadProfile) {
				t.Fatalf("error %v does not wrap ErrBadProfile", err)
			}
			return
		}
		if len(p.LoadW) < 2 || len(p.LoadW) != len(p.PVW) || !(p.StepS >= minProfileStepS) {
			t.Fatalf("accepted a bad profile: %+v", p)
		}
		l, v := p.homeSources(1, 0, time.Unix(0, 0), 4000)
		for _, s := range []float64{0, 1, 1e5, -1e5} {
			at := time.Unix(int64(s), 0)
			if w := l.PowerAt(at); !w.Finite() || w < 0 {
				t.Fatalf("load %v at %v", w, at)
			}
			if w := v.PowerAt(at); !w.Finite() || w < 0 {
				t.Fatalf("pv %v at %v", w, at)
			}
		}
	})
}
