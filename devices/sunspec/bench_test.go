package sunspec_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gridmesh/gridmesh/devices/devicetest"
	"github.com/gridmesh/gridmesh/devices/sunspec"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
)

// BenchmarkBatteryRead measures one battery reading (models 124 and 802,
// scale factors applied) from the Go SunSpec server over Modbus TCP on
// 127.0.0.1: the cost of a guard's poll of a real inverter, less the wire.
func BenchmarkBatteryRead(b *testing.B) {
	home := devicetest.NewHome(b)
	ds := home.Devices()
	scfg := sunspecserver.DefaultConfig()
	p := devicetest.HomeParams()
	scfg.BatteryMaxChargeW, scfg.BatteryMaxDischargeW = p.Battery.MaxChargeW, p.Battery.MaxDischargeW
	srv, err := sunspecserver.New(scfg, sunspecserver.Devices{Battery: ds.Battery, Meter: ds.Meter, PV: ds.PV}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			b.Errorf("server: %v", err)
		}
	}()
	cfg := sunspec.DefaultConfig()
	cfg.Addr = srv.Addr()
	d, err := sunspec.Dial(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	bat, ok := d.BatteryView()
	if !ok {
		b.Fatal("no battery view")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bat.Battery(); err != nil {
			b.Fatal(err)
		}
	}
}
