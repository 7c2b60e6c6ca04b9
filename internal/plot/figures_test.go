package plot

import (
	"slices"
	"testing"
)

func TestFigures(t *testing.T) {
	type nb struct {
		ID     string  `json:"id"`
		ErrPct float64 `json:"err_pct"`
	}
	v := struct {
		Homes    int               `json:"homes"`
		Ran      float64           `json:"ran_s"`
		Failover []float64         `json:"failover_ms"`
		Empty    []string          `json:"errors"`
		Nbhd     []nb              `json:"neighborhood"`
		Rejected map[string]uint64 `json:"rejected"`
		None     map[string]int    `json:"none"`
		Ptr      *int              `json:"ptr"`
	}{
		Homes: 12, Failover: []float64{812.5, 1020}, Ran: 12.200055484, Empty: []string{},
		Nbhd:     []nb{{"n1", 1.5}, {"n2", 0}},
		Rejected: map[string]uint64{"expired": 3},
		None:     map[string]int{},
	}
	meanings := map[string]string{
		"homes": "homes in the city", "failover_ms": "kill to new plan",
		"neighborhood.err_pct": "tracking error", "rejected": "refused, by reason",
	}
	figs, err := Figures(v, meanings)
	if err != nil {
		t.Fatal(err)
	}
	want := []Figure{
		{"homes", "12", "homes in the city"},
		{"ran_s", "12.2001", ""},
		{"failover_ms", "[812.5, 1020]", "kill to new plan"},
		{"errors", "[]", ""},
		{"neighborhood[0].id", "n1", ""},
		{"neighborhood[0].err_pct", "1.5", "tracking error"},
		{"neighborhood[1].id", "n2", ""},
		{"neighborhood[1].err_pct", "0", "tracking error"},
		{"rejected.expired", "3", "refused, by reason"},
		{"none", "{}", ""},
		{"ptr", "null", ""},
	}
	if !slices.Equal(figs, want) {
		t.Fatalf("Figures =\n%v\nwant\n%v", figs, want)
	}
	if tab := FiguresTable("figures", figs); len(tab.Rows) != len(want) || tab.ID != "figures" {
		t.Errorf("table %+v", tab)
	}
}

func TestFiguresRefusesWhatJSONCannotHold(t *testing.T) {
	if _, err := Figures(map[string]float64{"x": nan}, nil); err == nil {
		t.Fatal("NaN encoded")
	}
}
