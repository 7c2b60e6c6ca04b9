// Package plot draws the plots of gridmesh's HTML reports: pure
// functions that scale data to a plot's area, choose tick marks and build
// SVG paths, a Chart that renders itself as one <svg class="plot">
// element, and a Page that writes one self-contained HTML file (inline
// CSS, inline SVG, no script and nothing fetched) of charts and tables.
//
// Everything is drawn in Go on the writer's side, so a report opens in
// any browser, offline, and its figures are the ones the run measured.
// Values that are not finite (NaN, ±Inf) are gaps: a line breaks there
// and extents ignore them.
package plot
