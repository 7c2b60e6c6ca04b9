package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// maxStatePayload bounds a state payload. A device's state is a few
// hundred bytes of JSON; a broken or hostile publisher cannot make the
// driver parse megabytes on every message.
const maxStatePayload = 16 << 10

// maxQuoted bounds how much of a bad value an error quotes, so errors
// and logs stay short whatever a device sends.
const maxQuoted = 32

// decoder decodes one kind's payloads as a Config lays them out: which
// topic carries each field and how it is read there. It holds no mutable
// state and is safe for concurrent use.
type decoder struct {
	spec *kindSpec
	// srcs[i] is where spec.fields[i] comes from; mapped[i] is false for
	// a field not read.
	srcs   []source
	mapped []bool
	// topics lists the topics to subscribe to, the state topic first;
	// byTopic lists each one's fields (indexes into spec.fields).
	topics  []string
	byTopic map[string][]int
	// required marks the topics carrying a required field: their age is
	// the state's age.
	required   map[string]bool
	socPercent bool
}

// newDecoder returns the decoder for c, or an error naming the field
// whose source does not parse. Validate calls it; so does New.
func newDecoder(c Config) (decoder, error) {
	spec, ok := specs[c.Kind]
	if !ok {
		return decoder{}, fmt.Errorf("kind %q is not one of %v", c.Kind, Kinds())
	}
	d := decoder{spec: spec, srcs: make([]source, len(spec.fields)), mapped: make([]bool, len(spec.fields)),
		byTopic: map[string][]int{}, required: map[string]bool{}, socPercent: c.SoCPercent}
	var errs []error
	for i, f := range spec.fields {
		s := c.Fields[f.name]
		if s == "" {
			continue
		}
		src, err := parseSource(s, c.StateTopic)
		if err == nil {
			err = src.fits(f)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("field %q: %w", f.name, err))
			continue
		}
		d.srcs[i], d.mapped[i] = src, true
		if src.topic == "" {
			continue
		}
		if _, seen := d.byTopic[src.topic]; !seen {
			d.topics = append(d.topics, src.topic)
		}
		d.byTopic[src.topic] = append(d.byTopic[src.topic], i)
		d.required[src.topic] = d.required[src.topic] || f.required
	}
	return d, errors.Join(errs...)
}

// fits checks a constant against its field's type and range.
func (s source) fits(f field) error {
	if s.konst == nil {
		return nil
	}
	_, err := coerce(f, s.konst, false)
	return err
}

// fieldValue is one field's value as a payload gave it: ok false when
// the payload did not carry it (absent, or null).
type fieldValue struct {
	idx int
	v   value
	ok  bool
}

// decode reads the fields topic carries from one payload. The payload is
// refused whole (an error wrapping ErrBadPayload) when it is too big,
// does not parse, lacks a required field the topic carries, or holds a
// value of the wrong type or out of range. A topic the config does not
// read gives nothing.
func (d decoder) decode(topic string, payload []byte) ([]fieldValue, error) {
	idxs := d.byTopic[topic]
	if len(idxs) == 0 {
		return nil, nil
	}
	if len(payload) > maxStatePayload {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadPayload, len(payload), maxStatePayload)
	}
	docs, err := d.parsePayload(idxs, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	out := make([]fieldValue, 0, len(idxs))
	for _, i := range idxs {
		f, src := d.spec.fields[i], d.srcs[i]
		doc := docs.json
		if src.scalar {
			doc = docs.scalar
		}
		raw, err := src.extract(doc)
		if err != nil {
			return nil, fmt.Errorf("%w: field %q: %v", ErrBadPayload, f.name, err)
		}
		if raw == nil {
			if f.required {
				return nil, fmt.Errorf("%w: required field %q (%s) missing", ErrBadPayload, f.name, src)
			}
			out = append(out, fieldValue{idx: i})
			continue
		}
		v, err := coerce(f, raw, d.socPercent)
		if err != nil {
			return nil, fmt.Errorf("%w: field %q (%s): %v", ErrBadPayload, f.name, src, err)
		}
		out = append(out, fieldValue{idx: i, v: v, ok: true})
	}
	return out, nil
}

// docs is one payload, parsed as the topic's fields need it.
type docs struct {
	json   any // the JSON document, for paths and jq
	scalar any // the payload as one plain value
}

// parsePayload parses the payload once as JSON if a field reads it by
// path or jq (whose root must then be an object or an array), and as a
// plain value if a field takes it whole.
func (d decoder) parsePayload(idxs []int, payload []byte) (docs, error) {
	var out docs
	for _, i := range idxs {
		src := d.srcs[i]
		switch {
		case src.scalar && out.scalar == nil:
			out.scalar = plainValue(payload)
			if out.scalar == nil {
				return docs{}, errors.New("empty payload, want a value")
			}
		case !src.scalar && out.json == nil:
			doc, err := parseJSON(payload)
			if err != nil {
				return docs{}, err
			}
			switch doc.(type) {
			case map[string]any, []any:
			default:
				return docs{}, fmt.Errorf("%s, want a JSON object or array", quote(payload))
			}
			out.json = doc
		}
	}
	return out, nil
}

// parseJSON parses one JSON document, keeping numbers exact, and refuses
// trailing data.
func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("unexpected end of JSON input")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON document")
	}
	return v, nil
}

// plainValue reads a payload that is one value: JSON if it parses (a
// number, a quoted string, true, false), else the trimmed text (ON, OFF,
// online). Empty: nil.
func plainValue(b []byte) any {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	if v, err := parseJSON([]byte(s)); err == nil {
		return v
	}
	return s
}

// coerce turns one extracted value into the field's type, in its range.
// A number may come as a JSON number or a string holding one; a flag as
// true/false, "ON"/"OFF", "true"/"false" (any case) or 1/0.
func coerce(f field, raw any, socPercent bool) (value, error) {
	if f.typ == boolean {
		return coerceBool(raw)
	}
	text, ok := numberOf(raw)
	if !ok {
		return value{}, fmt.Errorf("want a number, got %s", quoteAny(raw))
	}
	if f.typ == integer {
		// Parsed as an integer, exactly: as a float, 2⁵³+1 would round
		// into range.
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return value{}, fmt.Errorf("want an integer, got %s", quote([]byte(text)))
		}
		if n < int64(f.lo) || n > int64(f.hi) {
			return value{}, fmt.Errorf("%d outside [%v, %v]", n, f.lo, f.hi)
		}
		return value{num: float64(n)}, nil
	}
	x, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return value{}, fmt.Errorf("number %s: %w", quote([]byte(text)), errors.Unwrap(err))
	}
	lo, hi, scale := f.lo, f.hi, 1.0
	if f.percent && socPercent {
		lo, hi, scale = 0, 100, 100
	}
	if !(x >= lo && x <= hi) {
		return value{}, fmt.Errorf("%v outside [%v, %v]", x, lo, hi)
	}
	return value{num: x / scale}, nil
}

// numberOf renders a number (JSON, jq's, or a string holding a JSON
// number) as its decimal text.
func numberOf(raw any) (string, bool) {
	switch x := raw.(type) {
	case json.Number:
		return string(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case *big.Int:
		return x.String(), true
	case string:
		s := strings.TrimSpace(x)
		if _, ok := numberText(s); ok {
			return s, true
		}
	}
	return "", false
}

// coerceBool reads a state flag.
func coerceBool(raw any) (value, error) {
	switch x := raw.(type) {
	case bool:
		return value{flag: x}, nil
	case string:
		switch strings.ToUpper(strings.TrimSpace(x)) {
		case "ON", "TRUE":
			return value{flag: true}, nil
		case "OFF", "FALSE":
			return value{}, nil
		}
	default:
		if text, ok := numberOf(raw); ok {
			switch text {
			case "1":
				return value{flag: true}, nil
			case "0":
				return value{}, nil
			}
		}
	}
	return value{}, fmt.Errorf("want true or false (ON/OFF, 1/0), got %s", quoteAny(raw))
}

// slot is one field's newest value and when it arrived.
type slot struct {
	v  value
	ok bool
	at time.Time
}

// assembled is what the slots make: a state when every required field
// has a value (missing lists those that do not), and when its oldest
// required figure arrived.
type assembled struct {
	st      state
	at      time.Time
	missing []string
}

// assemble builds the reading from every field's newest value: constants
// as configured, required fields however old (the state's age is that of
// its oldest required figure, and read reports it stale), optional ones
// only while younger than staleAfter. A cross-field rule that fails (a
// charger's empty range) is an error wrapping ErrBadPayload.
func (d decoder) assemble(slots []slot, now time.Time, staleAfter time.Duration) (assembled, error) {
	var out assembled
	has := make(map[string]bool, len(slots))
	vals := make([]value, len(slots))
	for i, f := range d.spec.fields {
		switch s := slots[i]; {
		case !d.mapped[i]:
		case d.srcs[i].konst != nil:
			v, _ := coerce(f, d.srcs[i].konst, false) // fits checked it
			vals[i], has[f.name] = v, true
		case !s.ok:
		case f.required:
			vals[i], has[f.name] = s.v, true
			if out.at.IsZero() || s.at.Before(out.at) {
				out.at = s.at
			}
		case now.Sub(s.at) <= staleAfter:
			vals[i], has[f.name] = s.v, true
		}
		if f.required && !has[f.name] {
			out.missing = append(out.missing, f.name)
		}
	}
	if len(out.missing) > 0 {
		return out, nil
	}
	if out.at.IsZero() {
		out.at = now // every required figure is a constant
	}
	for i, f := range d.spec.fields {
		if has[f.name] {
			f.set(&out.st, vals[i])
		}
	}
	if err := d.spec.finish(&out.st, func(name string) bool { return has[name] }); err != nil {
		return assembled{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	return out, nil
}

// String describes a source for errors.
func (s source) String() string {
	var b strings.Builder
	switch {
	case s.konst != nil:
		return fmt.Sprintf("constant %v", s.konst)
	case s.jq != nil:
		b.WriteString("jq")
	case s.path != nil:
		b.WriteString("path " + strings.Join(s.path, "."))
	default:
		b.WriteString("payload")
	}
	b.WriteString(" on " + s.topic)
	return b.String()
}

// quote renders a raw value for an error, cut to maxQuoted bytes.
func quote(raw []byte) string {
	if len(raw) > maxQuoted {
		return strconv.Quote(string(raw[:maxQuoted])) + "…"
	}
	return string(raw)
}

// quoteAny renders an extracted value for an error, cut to maxQuoted
// bytes.
func quoteAny(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	return quote(b)
}
