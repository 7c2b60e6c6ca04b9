package main

import "testing"

func TestGCSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"defaults", nil, 100, 3 << 30},
		{"GOGC governs the percent", map[string]string{"GOGC": "100"}, -1, 3 << 30},
		{"GOMEMLIMIT governs the limit", map[string]string{"GOMEMLIMIT": "1GiB"}, 100, -1},
		{"both", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, -1, -1},
	}
	for _, c := range cases {
		p, l := gcSettings(env(c.env), testnetGCPercent, testnetMemoryLimitMiB)
		if p != c.wantPercent || l != c.wantLimit {
			t.Errorf("%s: got %d, %d; want %d, %d", c.name, p, l, c.wantPercent, c.wantLimit)
		}
	}
}
