package control

import (
	"testing"
	"time"
)

func TestShedding(t *testing.T) {
	cfg := DefaultSheddingConfig(100*time.Millisecond, time.Second)
	thinned := SheddingState{Thinned: true, LastSign: t0}
	tests := []struct {
		name  string
		st    SheddingState
		signs LoadSigns
		at    time.Time
		want  SheddingState
	}{
		{name: "calm stays calm", signs: LoadSigns{LoopLate: cfg.LoopLateMax, PublishTook: cfg.PublishMax}, at: t0, want: SheddingState{}},
		{name: "a late tick thins", signs: LoadSigns{LoopLate: cfg.LoopLateMax + time.Millisecond}, at: t0, want: thinned},
		{name: "a slow publish thins", signs: LoadSigns{PublishTook: cfg.PublishMax + time.Millisecond}, at: t0, want: thinned},
		{name: "thinned until calm", st: thinned, at: t0.Add(cfg.Calm - time.Millisecond), want: thinned},
		{name: "calm long enough", st: thinned, at: t0.Add(cfg.Calm), want: SheddingState{LastSign: t0}},
		{name: "a new sign starts the calm again", st: thinned, signs: LoadSigns{LoopLate: time.Second}, at: t0.Add(cfg.Calm),
			want: SheddingState{Thinned: true, LastSign: t0.Add(cfg.Calm)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Shedding(tt.st, tt.signs, tt.at, cfg); got != tt.want {
				t.Errorf("Shedding = %+v, want %+v", got, tt.want)
			}
		})
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
	if (SheddingConfig{LoopLateMax: time.Millisecond}).Validate() == nil {
		t.Error("a config without publish bound or calm accepted")
	}
}
