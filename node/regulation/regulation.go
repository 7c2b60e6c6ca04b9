// Package regulation reads a grid operator's regulation signal: values in
// [-1, 1] at a fixed step, which `gridmesh signal` publishes step by step
// (through node.Operator) and the testnet's regulation scenario plays.
package regulation

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxRows bounds a regulation CSV: a day of 2 s steps is 43,200 rows; ten
// times that refuses only a wrong file.
const MaxRows = 432_000

// maxBytes bounds the file read: a row such as `43200.000,-0.123456` is
// about 20 bytes; 64 a row leaves room for spaces, quotes and CRLF.
const maxBytes = MaxRows * 64

// ErrCSV is wrapped by every ParseCSV error.
var ErrCSV = errors.New("regulation signal CSV")

// ParseCSV reads a regulation signal: rows of `time_s,value`, times in
// seconds increasing by one fixed step (any step from 1 ms to 1 h, to
// within a millisecond), values in [-1, 1]. A first row that is not
// numeric is a header; blank lines and lines starting with # are
// skipped. It returns the step and the values. Errors name the line and
// wrap ErrCSV.
func ParseCSV(r io.Reader) (time.Duration, []float64, error) { return parse(r, maxBytes) }

// parse is ParseCSV reading at most limit bytes.
func parse(r io.Reader, limit int64) (time.Duration, []float64, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	times, values, err := readRows(lr)
	if lr.N <= 0 {
		return 0, nil, fmt.Errorf("%w: more than %d bytes", ErrCSV, limit)
	}
	if err != nil {
		return 0, nil, err
	}
	step, err := fixedStep(times)
	if err != nil {
		return 0, nil, err
	}
	return step, values, nil
}

// readRows reads every row's time and value, checking each on its own.
func readRows(r io.Reader) (times, values []float64, err error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return times, values, nil
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, nil, fmt.Errorf("%w: line %d: want time_s,value", ErrCSV, pe.Line)
			}
			return nil, nil, fmt.Errorf("%w: line %d: %w", ErrCSV, pe.Line, pe.Err)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrCSV, err)
		}
		line, _ := cr.FieldPos(0)
		t, errT := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
		v, errV := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if errT != nil || errV != nil {
			if first && line == 1 {
				continue // a header
			}
			return nil, nil, fmt.Errorf("%w: line %d: %q is not two numbers", ErrCSV, line, strings.Join(rec, ","))
		}
		if math.IsNaN(t) || math.IsInf(t, 0) || math.IsNaN(v) || v < -1 || v > 1 {
			return nil, nil, fmt.Errorf("%w: line %d: time %v, value %v (want a finite time, a value in [-1, 1])", ErrCSV, line, t, v)
		}
		if len(times) >= MaxRows {
			return nil, nil, fmt.Errorf("%w: line %d: more than %d rows", ErrCSV, line, MaxRows)
		}
		times, values = append(times, t), append(values, v)
	}
}

// fixedStep returns the step the times keep, to within a millisecond.
func fixedStep(times []float64) (time.Duration, error) {
	if len(times) < 2 {
		return 0, fmt.Errorf("%w: %d rows, want at least 2", ErrCSV, len(times))
	}
	step := times[1] - times[0]
	if !(step >= 0.001) || step > 3600 {
		return 0, fmt.Errorf("%w: step %v s, want 1 ms to 1 h", ErrCSV, step)
	}
	for i := 2; i < len(times); i++ {
		if math.Abs(times[i]-times[0]-float64(i)*step) > 0.001 {
			return 0, fmt.Errorf("%w: row %d at %v s breaks the step of %v s", ErrCSV, i+1, times[i], step)
		}
	}
	return time.Duration(math.Round(step*1000)) * time.Millisecond, nil
}
