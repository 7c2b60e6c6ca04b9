package testnet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxRegulationRows bounds a regulation CSV: a day of 2 s steps is
// 43,200 rows; ten times that refuses only a wrong file.
const MaxRegulationRows = 432_000

// ErrRegulationCSV is wrapped by every ParseRegulationCSV error.
var ErrRegulationCSV = errors.New("regulation signal CSV")

// ParseRegulationCSV reads a regulation signal: rows of `time_s,value`,
// times in seconds increasing by one fixed step (any step, to within a
// millisecond), values in [-1, 1]. A first row that is not numeric is a
// header; blank lines and lines starting with # are skipped. It returns
// the step and the values. Errors name the line and wrap
// ErrRegulationCSV.
func ParseRegulationCSV(r io.Reader) (time.Duration, []float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), 4096)
	var times, values []float64
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		ts, vs, ok := strings.Cut(text, ",")
		if !ok {
			return 0, nil, fmt.Errorf("%w: line %d: want time_s,value", ErrRegulationCSV, line)
		}
		t, errT := strconv.ParseFloat(strings.TrimSpace(ts), 64)
		v, errV := strconv.ParseFloat(strings.TrimSpace(vs), 64)
		if errT != nil || errV != nil {
			if len(times) == 0 && line == 1 {
				continue // a header
			}
			return 0, nil, fmt.Errorf("%w: line %d: %q is not two numbers", ErrRegulationCSV, line, text)
		}
		if math.IsNaN(t) || math.IsInf(t, 0) || math.IsNaN(v) || v < -1 || v > 1 {
			return 0, nil, fmt.Errorf("%w: line %d: time %v, value %v (want a finite time, a value in [-1, 1])", ErrRegulationCSV, line, t, v)
		}
		if len(times) >= MaxRegulationRows {
			return 0, nil, fmt.Errorf("%w: more than %d rows", ErrRegulationCSV, MaxRegulationRows)
		}
		times, values = append(times, t), append(values, v)
	}
	if err := sc.Err(); err != nil {
		return 0, nil, fmt.Errorf("%w: line %d: %w", ErrRegulationCSV, line+1, err)
	}
	if len(values) < 2 {
		return 0, nil, fmt.Errorf("%w: %d rows, want at least 2", ErrRegulationCSV, len(values))
	}
	step := times[1] - times[0]
	if !(step >= 0.001) || step > 3600 {
		return 0, nil, fmt.Errorf("%w: step %v s, want 1 ms to 1 h", ErrRegulationCSV, step)
	}
	for i := 2; i < len(times); i++ {
		if math.Abs(times[i]-times[0]-float64(i)*step) > 0.001 {
			return 0, nil, fmt.Errorf("%w: row %d at %v s breaks the step of %v s", ErrRegulationCSV, i+1, times[i], step)
		}
	}
	return time.Duration(math.Round(step*1000)) * time.Millisecond, values, nil
}
