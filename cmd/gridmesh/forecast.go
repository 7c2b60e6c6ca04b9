package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/testnet"
)

// forecastCmd prints the load and PV forecast a home would make from its
// own history (node.ForecastHome: the forecast an island's rationing
// makes), as CSV time_s,load_w,pv_w from the step after the history's
// last row.
func forecastCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	fs.SetOutput(stderr)
	history := fs.String("history", "", "CSV time_s,load_w,pv_w: the home's history at a fixed step (# lines are comments)")
	horizon := fs.Duration("horizon", 24*time.Hour, "how far ahead to forecast")
	day := fs.String("day", "1970-01-01", "UTC day time_s counts from (the default: time_s are Unix seconds)")
	lat := fs.Float64("lat", 52, "the array's latitude, degrees north (clear-sky PV model)")
	lon := fs.Float64("lon", 0, "the array's longitude, degrees east")
	peak := fs.Float64("pv-peak-w", 0, "the array's output at 1000 W/m²; 0 forecasts PV from the same hours of recent days instead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *history == "" || fs.NArg() != 0 {
		return fmt.Errorf("forecast: want --history FILE.csv and no arguments")
	}
	t0, err := time.Parse(time.DateOnly, *day)
	if err != nil {
		return fmt.Errorf("forecast: --day: %w", err)
	}
	p, err := testnet.ReadProfiles(*history)
	if err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	base := float64(t0.Unix())
	rows := make([]node.ForecastRow, len(p.LoadW))
	for i := range rows {
		rows[i] = node.ForecastRow{TimeS: base + p.StartS + float64(i)*p.StepS, LoadW: p.LoadW[i], PVW: p.PVW[i]}
	}
	model := node.DefaultReserveConfig(node.PVModel{LatitudeDeg: *lat, LongitudeDeg: *lon, PeakW: gridmesh.W(*peak)}).PV
	fc, err := node.ForecastHome(rows, model, *horizon)
	if err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	fmt.Fprintln(stdout, "time_s,load_w,pv_w")
	for _, r := range fc {
		fmt.Fprintf(stdout, "%.0f,%.1f,%.1f\n", r.TimeS-base, r.LoadW, r.PVW)
	}
	return nil
}
