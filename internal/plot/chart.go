package plot

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"
)

// Line is one series of a chart: Y against X, drawn as a line (a
// staircase with Step), with a dot at every point with Markers.
type Line struct {
	Name    string
	X, Y    []float64
	Step    bool
	Markers bool
	Dashed  bool
	// Color is a CSS color; empty takes the palette's next.
	Color string
}

// Band is a shaded area between Lo and Hi at each X (a spread: the least
// and greatest of many series).
type Band struct {
	Name      string
	X, Lo, Hi []float64
	Color     string
}

// Mark is a vertical line across the plot at X: an event.
type Mark struct {
	X     float64
	Label string
	Color string
}

// Span is a stretch [From, To] of the chart's lane, a strip under the
// plot (who led a neighborhood, and when).
type Span struct {
	From, To float64
	Label    string
}

// Chart is one plot: lines and bands against shared axes, marks, and an
// optional lane of spans. Its zero sizes take the defaults.
type Chart struct {
	// Title names the plot; XLabel and YLabel name the axes with their
	// units ("time into the run (s)").
	Title, XLabel, YLabel string
	Lines                 []Line
	Bands                 []Band
	Marks                 []Mark
	// Lane names the strip of Spans (drawn only when there are spans).
	Lane  string
	Spans []Span
	// YInclude are values the y axis must span (0, a nominal frequency).
	YInclude []float64
	// Width and Height of the plot in pixels, lane excluded.
	Width, Height int
}

// Okabe and Ito's palette, distinguishable with the common colour vision
// deficiencies; yellow is left out (unreadable on white).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

// Default sizes and margins, in pixels: room for tick labels of up to
// seven characters at the left and a legend row at the top.
const (
	defaultWidth  = 860
	defaultHeight = 280
	marginLeft    = 72
	marginRight   = 24
	marginTop     = 34
	marginBottom  = 46
	laneHeight    = 26
	// tickTarget is about how many ticks an axis gets.
	tickTarget = 6
)

// HasData reports whether the chart has a finite point to draw.
func (c Chart) HasData() bool {
	for _, l := range c.Lines {
		if drawable(l.X, l.Y) {
			return true
		}
	}
	for _, b := range c.Bands {
		if drawable(b.X, b.Lo) && drawable(b.X, b.Hi) {
			return true
		}
	}
	return false
}

func drawable(xs, ys []float64) bool {
	for i := range min(len(xs), len(ys)) {
		if finite(xs[i]) && finite(ys[i]) {
			return true
		}
	}
	return false
}

// frame is a chart's geometry once its data is known.
type frame struct {
	w, h                   float64 // the whole SVG
	left, right, top, base float64 // the plot area
	sx, sy                 Scale
	xt, yt                 []float64
	xdec, ydec             int
}

func (c Chart) frame() frame {
	w, h := float64(cmpOr(c.Width, defaultWidth)), float64(cmpOr(c.Height, defaultHeight))
	f := frame{w: w, h: h, left: marginLeft, right: w - marginRight, top: marginTop, base: h - marginBottom}
	if len(c.Spans) > 0 {
		f.h += laneHeight
	}
	var xs, ys [][]float64
	for _, l := range c.Lines {
		xs, ys = append(xs, l.X), append(ys, l.Y)
	}
	for _, b := range c.Bands {
		xs, ys = append(xs, b.X), append(ys, b.Lo, b.Hi)
	}
	var extraX []float64
	for _, m := range c.Marks {
		extraX = append(extraX, m.X)
	}
	for _, s := range c.Spans {
		extraX = append(extraX, s.From, s.To)
	}
	xlo, xhi, _ := Extent(append(xs, extraX)...)
	ylo, yhi, _ := Extent(append(ys, c.YInclude)...)
	f.xt, f.yt = NiceTicks(xlo, xhi, tickTarget+2), NiceTicks(ylo, yhi, tickTarget)
	f.xdec, f.ydec = tickDec(f.xt), tickDec(f.yt)
	f.sx = Scale{D0: f.xt[0], D1: f.xt[len(f.xt)-1], R0: f.left, R1: f.right}
	f.sy = Scale{D0: f.yt[0], D1: f.yt[len(f.yt)-1], R0: f.base, R1: f.top}
	return f
}

func tickDec(ticks []float64) int {
	if len(ticks) < 2 {
		return 0
	}
	return TickDecimals(ticks[1] - ticks[0])
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// SVG renders the chart as one <svg class="plot"> element. Text is
// escaped; the chart holds no script.
func (c Chart) SVG() template.HTML {
	f := c.frame()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`,
		f.w, f.h, f.w, f.h, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.Title))
	c.axes(&b, f)
	c.bands(&b, f)
	c.marks(&b, f)
	c.lines(&b, f)
	c.lane(&b, f)
	c.legend(&b, f)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from escaped text and numbers only
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func colorOf(c string, i int) string {
	if c != "" {
		return c
	}
	return palette[i%len(palette)]
}

// axes draws the grid, the tick labels and the axis titles.
func (c Chart) axes(b *strings.Builder, f frame) {
	b.WriteString(`<g class="axis">`)
	for _, v := range f.yt {
		y := coord(f.sy.Map(v))
		fmt.Fprintf(b, `<line class="grid" x1="%g" x2="%g" y1="%s" y2="%s"/>`, f.left, f.right, y, y)
		fmt.Fprintf(b, `<text x="%g" y="%s" text-anchor="end" dy="0.32em">%s</text>`, f.left-6, y, FormatTick(v, f.ydec))
	}
	for _, v := range f.xt {
		x := coord(f.sx.Map(v))
		fmt.Fprintf(b, `<line class="grid" x1="%s" x2="%s" y1="%g" y2="%g"/>`, x, x, f.top, f.base)
		fmt.Fprintf(b, `<text x="%s" y="%g" text-anchor="middle">%s</text>`, x, f.base+16, FormatTick(v, f.xdec))
	}
	fmt.Fprintf(b, `<rect class="frame" x="%g" y="%g" width="%g" height="%g"/>`, f.left, f.top, f.right-f.left, f.base-f.top)
	fmt.Fprintf(b, `<text class="label" x="%g" y="%g" text-anchor="middle">%s</text>`, (f.left+f.right)/2, f.base+36, esc(c.XLabel))
	fmt.Fprintf(b, `<text class="label" transform="translate(16 %g) rotate(-90)" text-anchor="middle">%s</text>`, (f.top+f.base)/2, esc(c.YLabel))
	b.WriteString(`</g>`)
}

// bands draws each band as one closed area per run of drawable points.
func (c Chart) bands(b *strings.Builder, f frame) {
	for i, band := range c.Bands {
		col := colorOf(band.Color, len(c.Lines)+i)
		for _, seg := range segments(band.X, band.Lo, band.Hi) {
			var d strings.Builder
			for k, j := range seg {
				op := "L"
				if k == 0 {
					op = "M"
				}
				fmt.Fprintf(&d, "%s%s %s", op, coord(f.sx.Map(band.X[j])), coord(f.sy.Map(band.Hi[j])))
			}
			for k := len(seg) - 1; k >= 0; k-- {
				j := seg[k]
				fmt.Fprintf(&d, "L%s %s", coord(f.sx.Map(band.X[j])), coord(f.sy.Map(band.Lo[j])))
			}
			d.WriteString("Z")
			fmt.Fprintf(b, `<path class="band" d="%s" fill="%s" fill-opacity="0.22" stroke="%s" stroke-opacity="0.5"/>`, d.String(), col, col)
		}
	}
}

// segments returns the runs of indices at which x, lo and hi are all
// finite.
func segments(x, lo, hi []float64) [][]int {
	var out [][]int
	var cur []int
	for i := range min(len(x), len(lo), len(hi)) {
		if finite(x[i]) && finite(lo[i]) && finite(hi[i]) {
			cur = append(cur, i)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// marks draws the vertical event lines, each label in the first row
// (from the top) where it does not run into the label before it.
func (c Chart) marks(b *strings.Builder, f frame) {
	ms := slices.Clone(c.Marks)
	slices.SortStableFunc(ms, func(a, b Mark) int { return cmp.Compare(a.X, b.X) })
	rows := LabelRows(ms, f.sx, labelCharW)
	for i, m := range ms {
		if !finite(m.X) {
			continue
		}
		col := m.Color
		if col == "" {
			col = "#666"
		}
		x := coord(f.sx.Map(m.X))
		fmt.Fprintf(b, `<g class="mark"><line x1="%s" x2="%s" y1="%g" y2="%g" stroke="%s" stroke-dasharray="4 3"/>`, x, x, f.top, f.base, col)
		fmt.Fprintf(b, `<text x="%s" y="%g" dx="3" fill="%s">%s</text></g>`, x, f.top+12+float64(rows[i])*12, col, esc(m.Label))
	}
}

// labelCharW is about how wide a character of an 11 px label is.
const labelCharW = 6

// LabelRows assigns each mark's label (marks sorted by X) the first row
// in which it starts past the end of the row's last label, given labels
// charW pixels a character wide; non-finite marks get row 0.
func LabelRows(marks []Mark, sx Scale, charW float64) []int {
	rows := make([]int, len(marks))
	var ends []float64 // per row, where its last label ends
	for i, m := range marks {
		if !finite(m.X) {
			continue
		}
		x := sx.Map(m.X)
		r := 0
		for r < len(ends) && ends[r] > x {
			r++
		}
		if r == len(ends) {
			ends = append(ends, 0)
		}
		ends[r] = x + 3 + charW*float64(len([]rune(m.Label))) + 4
		rows[i] = r
	}
	return rows
}

// lines draws each series as a path, with dots at its points when asked.
func (c Chart) lines(b *strings.Builder, f frame) {
	for i, l := range c.Lines {
		col := colorOf(l.Color, i)
		d := Path(l.X, l.Y, f.sx, f.sy, l.Step)
		if d == "" {
			continue
		}
		dash := ""
		if l.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<path class="series" d="%s" fill="none" stroke="%s" stroke-width="1.6"%s><title>%s</title></path>`, d, col, dash, esc(l.Name))
		if !l.Markers {
			continue
		}
		for j := range min(len(l.X), len(l.Y)) {
			if finite(l.X[j]) && finite(l.Y[j]) {
				fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, coord(f.sx.Map(l.X[j])), coord(f.sy.Map(l.Y[j])), col)
			}
		}
	}
}

// lane draws the spans in a strip under the x axis's labels, each in its
// label's colour (the same label, the same colour).
func (c Chart) lane(b *strings.Builder, f frame) {
	if len(c.Spans) == 0 {
		return
	}
	top := f.h - laneHeight + 2
	fmt.Fprintf(b, `<g class="lane"><text x="%g" y="%g" text-anchor="end" dy="0.32em">%s</text>`, f.left-6, top+10, esc(c.Lane))
	colors := map[string]string{}
	for _, s := range c.Spans {
		if !finite(s.From) || !finite(s.To) || s.To < s.From {
			continue
		}
		col, ok := colors[s.Label]
		if !ok {
			col = palette[len(colors)%len(palette)]
			colors[s.Label] = col
		}
		x0, x1 := f.sx.Map(s.From), f.sx.Map(s.To)
		fmt.Fprintf(b, `<rect x="%s" y="%g" width="%s" height="20" fill="%s" fill-opacity="0.3"><title>%s</title></rect>`,
			coord(x0), top, coord(max(x1-x0, 1)), col, esc(s.Label))
		if x1-x0 > 7*float64(len(s.Label)) {
			fmt.Fprintf(b, `<text x="%s" y="%g" dx="4" dy="0.32em">%s</text>`, coord(x0), top+10, esc(s.Label))
		}
	}
	b.WriteString(`</g>`)
}

// legend names every line and band in a row above the plot.
func (c Chart) legend(b *strings.Builder, f frame) {
	x := f.left
	b.WriteString(`<g class="legend">`)
	item := func(name, col string, area, dashed bool) {
		if area {
			fmt.Fprintf(b, `<rect x="%g" y="10" width="18" height="10" fill="%s" fill-opacity="0.3"/>`, x, col)
		} else {
			dash := ""
			if dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(b, `<line x1="%g" x2="%g" y1="15" y2="15" stroke="%s" stroke-width="2"%s/>`, x, x+18, col, dash)
		}
		fmt.Fprintf(b, `<text x="%g" y="15" dy="0.32em">%s</text>`, x+22, esc(name))
		x += 34 + 6.5*float64(len([]rune(name)))
	}
	for i, l := range c.Lines {
		item(l.Name, colorOf(l.Color, i), false, l.Dashed)
	}
	for i, band := range c.Bands {
		item(band.Name, colorOf(band.Color, len(c.Lines)+i), true, false)
	}
	b.WriteString(`</g>`)
}
