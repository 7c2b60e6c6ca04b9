package regulation

import (
	"errors"
	"strings"
	"testing"
)

// A file past the byte bound is refused, even if what fits would parse.
func TestParseRefusesPastTheBound(t *testing.T) {
	in := "0,0\n1,0\n2,0\n"
	if _, _, err := parse(strings.NewReader(in), int64(len(in))); err != nil {
		t.Fatalf("a file of exactly the bound: %v", err)
	}
	_, _, err := parse(strings.NewReader(in+"3,0\n"), int64(len(in)))
	if !errors.Is(err, ErrCSV) || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("a file past the bound: %v, want ErrCSV naming the bytes", err)
	}
}
