package homefile_test

import (
	"testing"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// FuzzParse: any bytes either parse into a home that passes validation or
// give an error; never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("home: a\nneighborhood: b\ndata_dir: /x\ndevices: [{name: d, kinds: [battery], driver: sim, sim: {}}]\n"))
	f.Add([]byte("devices: &a [*a]\n"))
	f.Add([]byte("target_w: 1e400 kW\n"))
	f.Add([]byte(good + "operator_keys: [\"" + operatorKey + "\", \"AAAA\"]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hf, err := homefile.Parse(b)
		if err == nil && (hf.Home == "" || hf.Neighborhood == "" || len(hf.Devices) == 0) {
			t.Fatalf("accepted an incomplete home: %+v", hf)
		}
	})
}
