package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
)

// Plot is what the browser drew of one <svg class="plot"> of a report.
type Plot struct {
	Title string `json:"title"`
	// Width and Height are its bounding box on the page, in CSS pixels.
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	// Drawn counts its data paths (path.series, path.band, polyline)
	// with two points or more and a bounding box of some size: what the
	// browser laid out, not what the file says.
	Drawn int `json:"drawn"`
}

// Drawing is what the browser shows of an HTML report: its plots and the
// rows of its figures table (the table with id "figures").
type Drawing struct {
	Plots      []Plot `json:"plots"`
	FigureRows int    `json:"figure_rows"`
}

// drawingJS measures every plot as laid out, and counts the figures.
const drawingJS = `(() => {
  const points = d => (d.match(/-?\d+(\.\d+)?/g) || []).length / 2;
  const plots = [...document.querySelectorAll('svg.plot')].map(svg => {
    const r = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll('path.series, path.band, polyline')].filter(p => {
      const d = p.getAttribute('d') || p.getAttribute('points') || '';
      const b = p.getBBox();
      return points(d) >= 2 && b.width + b.height > 0;
    }).length;
    return {title: svg.getAttribute('aria-label') || '', width: r.width, height: r.height, drawn: drawn};
  });
  return {plots: plots, figure_rows: document.querySelectorAll('#figures tbody tr').length};
})()`

// Draw opens url (a file:// URL of a report, or an http one) in the tab
// and returns what the browser drew.
func Draw(ctx context.Context, url string) (Drawing, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return Drawing{}, fmt.Errorf("browsertest: open %s: %w", url, err)
	}
	d, err := chromedp.Run(ctx, chromedp.Evaluate[Drawing](drawingJS))
	if err != nil {
		return Drawing{}, fmt.Errorf("browsertest: measure %s: %w", url, err)
	}
	return d, nil
}

// Undrawn returns a sentence for each plot the browser did not draw (no
// size, or no data path with points), and one if there are no plots or
// no figures: empty when every plot is drawn.
func (d Drawing) Undrawn() []string {
	var out []string
	if len(d.Plots) == 0 {
		out = append(out, "no plot on the page")
	}
	for i, p := range d.Plots {
		if p.Width <= 0 || p.Height <= 0 {
			out = append(out, fmt.Sprintf("plot %d (%q) has a %gx%g box", i, p.Title, p.Width, p.Height))
		}
		if p.Drawn == 0 {
			out = append(out, fmt.Sprintf("plot %d (%q) has no data path with points", i, p.Title))
		}
	}
	if d.FigureRows == 0 {
		out = append(out, "the figures table has no rows")
	}
	return out
}
