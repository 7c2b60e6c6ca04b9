package control

import (
	"fmt"
	"time"
)

// SheddingConfig says when a home judges its process overloaded and
// thins its telemetry (ReportDue's thinned): Raft's heartbeats and the
// leader's plans then keep what CPU and gossip capacity there is, and
// telemetry, which the heartbeat repeats anyway, gives way first.
type SheddingConfig struct {
	// LoopLateMax: a device-loop tick that starts more than this after
	// its time is a sign of overload: the process does not get the CPU
	// it asks for.
	LoopLateMax time.Duration
	// PublishMax: a telemetry report the gossip layer took longer than
	// this to accept is a sign of overload: its queues are backed up.
	PublishMax time.Duration
	// Calm is how long the home goes without a sign before it stops
	// thinning.
	Calm time.Duration
}

// DefaultSheddingConfig returns the thresholds for a home whose loop
// ticks every loopPeriod and which looks at its telemetry every
// reportPeriod.
//
// Why half a loop period: a tick that late has lost half its period to
// waiting for a CPU; a busy machine's scheduler delays a tick by a few
// milliseconds, not tens. Why a quarter of a report period: accepting a
// message is a queue hand-off in the gossip layer, well under a
// millisecond when it keeps up; a quarter second means it has fallen
// behind by hundreds of messages. Why ten report periods of calm: long
// enough that a home does not flap between thinned and not on every
// report while the load hovers at the threshold, short enough that the
// neighborhood's view is back to full detail within seconds of the
// load going.
func DefaultSheddingConfig(loopPeriod, reportPeriod time.Duration) SheddingConfig {
	return SheddingConfig{LoopLateMax: loopPeriod / 2, PublishMax: reportPeriod / 4, Calm: 10 * reportPeriod}
}

// Validate checks the configuration.
func (c SheddingConfig) Validate() error {
	if c.LoopLateMax <= 0 || c.PublishMax <= 0 || c.Calm <= 0 {
		return fmt.Errorf("shedding: loop late %v, publish %v, calm %v: want all positive", c.LoopLateMax, c.PublishMax, c.Calm)
	}
	return nil
}

// LoadSigns are what a home measured of its own load since it last
// judged it.
type LoadSigns struct {
	// LoopLate is the most any device-loop tick started after its time.
	LoopLate time.Duration
	// PublishTook is how long the last telemetry report took to be
	// accepted by the gossip layer (0 if none was published).
	PublishTook time.Duration
}

// SheddingState is what the shedding rule carries from one call to the
// next. The zero value is a home that is not thinning.
type SheddingState struct {
	// Thinned is whether the home thins its telemetry now.
	Thinned bool
	// LastSign is when overload was last seen.
	LastSign time.Time
}

// Shedding judges whether a home thins its telemetry at now: at once on
// a sign of overload, and until Calm has passed without one. It is a
// pure function.
func Shedding(st SheddingState, signs LoadSigns, now time.Time, cfg SheddingConfig) SheddingState {
	if signs.LoopLate > cfg.LoopLateMax || signs.PublishTook > cfg.PublishMax {
		return SheddingState{Thinned: true, LastSign: now}
	}
	st.Thinned = st.Thinned && now.Sub(st.LastSign) < cfg.Calm
	return st
}
