package plot

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"os"
)

// Page is one self-contained HTML report: a title, a few summary lines,
// and sections of charts, each with a sentence on what it shows, and
// tables.
type Page struct {
	Title   string
	Summary []string
	// Notes are warnings worth a person's eye (the run's errors).
	Notes    []string
	Sections []Section
}

// Section is a heading, what its charts show, its charts and tables.
type Section struct {
	Title  string
	Text   string
	Charts []Chart
	Tables []Table
}

// Table is a table of text: a caption, column heads and rows.
type Table struct {
	// ID is the table's HTML id (empty: none).
	ID      string
	Caption string
	Head    []string
	Rows    [][]string
}

// pageTemplate lays a Page out. The style is inline; nothing is fetched
// and nothing runs.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px auto; max-width: 920px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
p.summary { margin: 2px 0; }
ul.notes { color: #a40000; }
svg.plot { display: block; max-width: 100%; height: auto; background: #fff; }
svg.plot text { font: 11px system-ui, sans-serif; fill: #333; }
svg.plot text.label { font-size: 12px; fill: #222; }
svg.plot .grid { stroke: #e6e6e6; }
svg.plot .frame { fill: none; stroke: #999; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid #eee; padding: 3px 6px; text-align: left; vertical-align: top; }
td.v { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
tr:nth-child(even) td { background: #fafafa; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Summary}}<p class="summary">{{.}}</p>
{{end}}{{with .Notes}}<ul class="notes">{{range .}}<li>{{.}}</li>{{end}}</ul>
{{end}}{{range .Sections}}<section>
<h2>{{.Title}}</h2>
{{with .Text}}<p>{{.}}</p>{{end}}
{{range .Charts}}<figure><h3>{{.Title}}</h3>{{.SVG}}</figure>
{{end}}{{range .Tables}}<table{{with .ID}} id="{{.}}"{{end}}>{{with .Caption}}<caption>{{.}}</caption>{{end}}
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if eq $i 1}} class="v"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{end}}</section>
{{end}}</body>
</html>
`))

// Write writes the page as one HTML document.
func (p Page) Write(w io.Writer) error {
	if err := pageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("plot: write page: %w", err)
	}
	return nil
}

// WriteFile writes the page render draws to path, whole: a failed render
// leaves no half-written file behind.
func WriteFile(path string, render func(io.Writer) error) error {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}
