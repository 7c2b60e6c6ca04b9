package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/itchyny/gojq"
)

// Prefixes of a field's source in Config.Fields (see the package doc).
const (
	// jqPrefix marks a jq expression over the topic's JSON payload.
	jqPrefix = "jq:"
	// topicPrefix marks a field carried on a topic of its own.
	topicPrefix = "topic:"
	// constPrefix marks a figure the device does not publish, given in
	// the config.
	constPrefix = "const:"
	// topicSep separates a field's topic from what is read in its
	// payload: '#' cannot appear in a topic one publishes to.
	topicSep = "#"
)

// jqTimeout bounds one jq evaluation. A field's expression over a
// payload of at most maxStatePayload runs in microseconds; one that
// takes 50 ms loops on what the device sent, and is refused instead of
// stalling the connection's message router.
const jqTimeout = 50 * time.Millisecond

// source is where one field's value comes from: a topic (StateTopic when
// the field names none) and what is read in its payload, or a constant.
type source struct {
	// topic carries the field; "" for a constant.
	topic string
	// path is the JSON path into the payload (nil with jq, a constant or
	// a scalar payload).
	path []string
	// jq is the compiled expression (nil unless the field is one).
	jq *gojq.Code
	// scalar reads the whole payload as one value: a number, a string
	// holding one, true/false, ON/OFF.
	scalar bool
	// konst is the constant's value (a float64 or a bool), nil unless the
	// field is one.
	konst any
}

// parseSource reads one Config.Fields value: "" (not read), a JSON path
// ("ENERGY.Power", "inverter.0.AC.0.Power.v"), "jq:<expression>",
// "const:<number|true|false>", or "topic:<topic>" optionally followed by
// "#<path>" or "#jq:<expression>" (without it the payload is a plain
// value). A path or jq source without a topic reads stateTopic.
func parseSource(s, stateTopic string) (source, error) {
	switch {
	case strings.HasPrefix(s, constPrefix):
		return parseConst(strings.TrimPrefix(s, constPrefix))
	case strings.HasPrefix(s, topicPrefix):
		rest := strings.TrimPrefix(s, topicPrefix)
		topic, extract, found := strings.Cut(rest, topicSep)
		if err := validTopic(topic); err != nil {
			return source{}, fmt.Errorf("topic %q: %w", topic, err)
		}
		if !found {
			return source{topic: topic, scalar: true}, nil
		}
		if extract == "" {
			return source{}, fmt.Errorf("nothing after %q: give a path or jq:<expression>, or drop the %q", topicSep, topicSep)
		}
		src, err := parseExtract(extract)
		src.topic = topic
		return src, err
	}
	if stateTopic == "" {
		return source{}, errors.New("no state topic to read it from: set the state topic or give the field a topic:<topic>")
	}
	src, err := parseExtract(s)
	src.topic = stateTopic
	return src, err
}

// parseExtract reads a path or a jq expression.
func parseExtract(s string) (source, error) {
	if expr, ok := strings.CutPrefix(s, jqPrefix); ok {
		code, err := compileJQ(expr)
		return source{jq: code}, err
	}
	path := strings.Split(s, ".")
	for _, seg := range path {
		if seg == "" {
			return source{}, fmt.Errorf("path %q has an empty segment (a key with a dot in it needs jq:)", s)
		}
	}
	return source{path: path}, nil
}

// compileJQ parses and compiles a jq expression once, at config time.
// The expression sees no environment and no input beyond the payload.
func compileJQ(expr string) (*gojq.Code, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("jq %q: %w", expr, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("jq %q: %w", expr, err)
	}
	return code, nil
}

// parseConst reads a constant: a number, true or false.
func parseConst(s string) (source, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "true":
		return source{konst: true}, nil
	case "false":
		return source{konst: false}, nil
	}
	x, ok := numberText(s)
	if !ok {
		return source{}, fmt.Errorf("constant %q: want a number, true or false", s)
	}
	return source{konst: x}, nil
}

// numberText parses s as a JSON number (no hex, no NaN, no underscores).
func numberText(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || !json.Valid([]byte(s)) || s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	return x, err == nil
}

// extract returns what the source reads from a decoded payload: nil when
// absent (a missing key, an index past the end, a JSON null, a jq
// expression with no result or a null one).
func (s source) extract(doc any) (any, error) {
	switch {
	case s.jq != nil:
		return runJQ(s.jq, doc)
	case s.path != nil:
		return walk(doc, s.path), nil
	}
	return doc, nil
}

// walk follows path into doc: a segment names an object's key, or, into
// an array, an index from 0.
func walk(doc any, path []string) any {
	v := doc
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// runJQ runs code on doc and returns its first result, bounded by
// jqTimeout.
func runJQ(code *gojq.Code, doc any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), jqTimeout)
	defer cancel()
	v, ok := code.RunWithContext(ctx, doc).Next()
	if !ok {
		return nil, nil
	}
	if err, isErr := v.(error); isErr {
		return nil, fmt.Errorf("jq: %w", err)
	}
	return v, nil
}
