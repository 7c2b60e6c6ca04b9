package plot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Figure is one value of a report: its key as a path into the report's
// JSON (neighborhood[0].leader), the value as text, and what it means.
type Figure struct {
	Key, Value, Meaning string
}

// Figures flattens v's JSON encoding into one figure per value: objects
// by key (in the encoding's order), arrays of objects by index; an array
// of plain values, an empty array or an empty object is one figure. The
// meaning of each is meanings' entry for its key, tried with the indices
// removed (neighborhood.leader) and then for each shorter prefix
// (rejected_messages for rejected_messages.expired); "" when none is.
func Figures(v any, meanings map[string]string) ([]Figure, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("plot: figures: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []Figure
	if err := flatten(dec, "", &out); err != nil {
		return nil, fmt.Errorf("plot: figures: %w", err)
	}
	for i := range out {
		out[i].Meaning = MeaningOf(out[i].Key, meanings)
	}
	return out, nil
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// MeaningOf looks a flattened key up as Figures does.
func MeaningOf(key string, meanings map[string]string) string {
	k := indexRE.ReplaceAllString(key, "")
	for {
		if m, ok := meanings[k]; ok {
			return m
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			return ""
		}
		k = k[:i]
	}
}

// flatten reads one JSON value from dec, in order, and appends its
// figures under prefix.
func flatten(dec *json.Decoder, prefix string, out *[]Figure) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		n := 0
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if prefix != "" {
				key = prefix + "." + key
			}
			if err := flatten(dec, key, out); err != nil {
				return err
			}
			n++
		}
		if _, err := dec.Token(); err != nil { // }
			return err
		}
		if n == 0 {
			*out = append(*out, Figure{Key: prefix, Value: "{}"})
		}
		return nil
	case json.Delim('['):
		var raw []json.RawMessage
		for dec.More() {
			var m json.RawMessage
			if err := dec.Decode(&m); err != nil {
				return err
			}
			raw = append(raw, m)
		}
		if _, err := dec.Token(); err != nil { // ]
			return err
		}
		return flattenArray(raw, prefix, out)
	}
	*out = append(*out, Figure{Key: prefix, Value: scalar(tok)})
	return nil
}

// flattenArray lists an array of plain values as one figure, and an
// array holding objects or arrays by index.
func flattenArray(raw []json.RawMessage, prefix string, out *[]Figure) error {
	nested := slices.ContainsFunc(raw, func(m json.RawMessage) bool {
		t := bytes.TrimSpace(m)
		return len(t) > 0 && (t[0] == '{' || t[0] == '[')
	})
	if !nested {
		parts := make([]string, len(raw))
		for i, m := range raw {
			parts[i] = string(bytes.TrimSpace(m))
		}
		*out = append(*out, Figure{Key: prefix, Value: "[" + strings.Join(parts, ", ") + "]"})
		return nil
	}
	for i, m := range raw {
		dec := json.NewDecoder(bytes.NewReader(m))
		dec.UseNumber()
		if err := flatten(dec, fmt.Sprintf("%s[%d]", prefix, i), out); err != nil {
			return err
		}
	}
	return nil
}

func scalar(tok any) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case string:
		return v
	case json.Number:
		return number(v)
	default:
		return fmt.Sprint(v)
	}
}

// number shows a JSON number to six significant digits: a figure
// measured to the nanosecond reads better as 12.2001 than as
// 12.200055484. Integers are shown whole.
func number(n json.Number) string {
	if _, err := n.Int64(); err == nil {
		return n.String()
	}
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

// FiguresTable is the figures as a table of key, value and meaning,
// with the id "figures".
func FiguresTable(caption string, figs []Figure) Table {
	t := Table{ID: "figures", Caption: caption, Head: []string{"key", "value", "meaning"}}
	for _, f := range figs {
		t.Rows = append(t.Rows, []string{f.Key, f.Value, f.Meaning})
	}
	return t
}
