package plot

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// parse checks that s is well-formed XML and counts its elements by name.
func parse(t *testing.T, s string) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	n := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}

func TestChartSVG(t *testing.T) {
	c := Chart{
		Title: "feeder <n1> & target", XLabel: "time (s)", YLabel: "power (kW)",
		Lines: []Line{
			{Name: "target", X: []float64{0, 1, 2}, Y: []float64{1, 1, 2}, Step: true},
			{Name: "feeder", X: []float64{0, 1, 2}, Y: []float64{0.8, nan, 2.1}, Markers: true},
		},
		Bands: []Band{{Name: "spread", X: []float64{0, 1}, Lo: []float64{0, 0.5}, Hi: []float64{1, 1.5}}},
		Marks: []Mark{{X: 1.5, Label: "leader killed"}},
		Lane:  "leader", Spans: []Span{{From: 0, To: 1.5, Label: "h1"}, {From: 1.6, To: 2, Label: "h2"}},
	}
	if !c.HasData() {
		t.Fatal("HasData false")
	}
	s := string(c.SVG())
	n := parse(t, s)
	if !strings.HasPrefix(s, `<svg class="plot"`) {
		t.Errorf("not an svg.plot: %.60s", s)
	}
	if n["path"] != 3 { // two lines (the feeder's, broken by a gap, is one path) and one band
		t.Errorf("%d paths, want 3", n["path"])
	}
	for _, want := range []string{"feeder &lt;n1&gt; &amp; target", ">time (s)<", ">power (kW)<", ">leader killed<", ">target<", ">spread<", ">leader<"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(s, "<n1>") {
		t.Error("title not escaped")
	}
	if n["circle"] != 2 {
		t.Errorf("%d markers, want 2 (one point is a gap)", n["circle"])
	}
	if n["rect"] < 3 { // frame and two spans
		t.Errorf("%d rects, want the frame and two spans", n["rect"])
	}
}

func TestChartWithoutData(t *testing.T) {
	for _, c := range []Chart{
		{},
		{Lines: []Line{{Name: "gaps", X: []float64{0, 1}, Y: []float64{nan, nan}}}},
		{Bands: []Band{{Name: "empty"}}},
	} {
		if c.HasData() {
			t.Errorf("%+v has data", c)
		}
		parse(t, string(c.SVG())) // still renders an empty frame, well-formed
	}
}

func TestPageWrite(t *testing.T) {
	var b strings.Builder
	p := Page{
		Title: "run <1>", Summary: []string{"12 homes"}, Notes: []string{"n1: no leader"},
		Sections: []Section{{
			Title: "Feeders", Text: "what it shows",
			Charts: []Chart{{Title: "c", Lines: []Line{{Name: "l", X: []float64{0, 1}, Y: []float64{0, 1}}}}},
			Tables: []Table{{ID: "figures", Head: []string{"key", "value", "meaning"}, Rows: [][]string{{"homes", "12", "homes in the city"}}}},
		}},
	}
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"<title>run &lt;1&gt;</title>", `<svg class="plot"`, `<table id="figures">`, `<td class="v">12</td>`, "n1: no leader"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "http://", "https://", "<link"} {
		if strings.Contains(strings.ReplaceAll(s, `xmlns="http://www.w3.org/2000/svg"`, ""), banned) {
			t.Errorf("page holds %q: it must be self-contained", banned)
		}
	}
}

func TestLabelRows(t *testing.T) {
	sx := Scale{D0: 0, D1: 100, R0: 0, R1: 100} // a pixel a unit
	marks := []Mark{{X: 0, Label: "aaaa"}, {X: 10, Label: "bb"}, {X: 20, Label: "c"}, {X: 21, Label: "d"}, {X: nan, Label: "gap"}, {X: 60, Label: "e"}}
	// "aaaa" ends at 0+3+24+4 = 31, "bb" at 10+3+12+4 = 29, "c" at 33:
	// "bb", "c" and "d" each start before every row's end, "e" after the
	// first's.
	want := []int{0, 1, 2, 3, 0, 0}
	got := LabelRows(marks, sx, 6)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rows %v, want %v", got, want)
		}
	}
}
