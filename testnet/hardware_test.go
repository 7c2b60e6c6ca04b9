package testnet

import (
	mrand "math/rand/v2"
	"testing"

	"github.com/gridmesh/gridmesh/devices/sim"
)

// DeviceLike gives every home's battery, full homes' and plain ones',
// DeviceLikeBattery's manners with its own noise; without it every
// battery is ideal.
func TestDeviceLikeBatteries(t *testing.T) {
	for _, full := range []bool{false, true} {
		for _, like := range []bool{false, true} {
			cfg := DefaultConfig()
			cfg.FullHomes, cfg.DeviceLike = full, like
			rng := mrand.New(mrand.NewPCG(1, 2))
			seeds := map[uint64]bool{}
			for i := range 20 {
				p, fp := drawHome(cfg, rng, i)
				hw, fhw := p.Battery.Hardware, fp.Battery.Hardware
				if hw != fhw {
					t.Fatalf("full %v: home %d: %+v in its params, %+v in its devices", full, i, hw, fhw)
				}
				seeds[hw.NoiseSeed] = true
				hw.NoiseSeed = 0
				want := sim.BatteryHardware{}
				if like {
					want = DeviceLikeBattery
				}
				if hw != want {
					t.Errorf("full %v, device-like %v: home %d battery %+v, want %+v", full, like, i, hw, want)
				}
			}
			if like && len(seeds) != 20 {
				t.Errorf("full %v: %d noise seeds over 20 homes", full, len(seeds))
			}
		}
	}
}
