package sunspec

import (
	"math"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// How the driver paces its writes. A control loop may change its command
// every tick; a device wants few writes. So the driver keeps what gridmesh
// wants of each setpoint (the battery's rates, the PV limit) apart from
// what it has written, and writes on any call to the device (a reading or
// a command) when the policy below says so: a setpoint that moved beyond
// the deadband, at most once per MinWriteInterval for the whole device;
// the same setpoint again at half the reversion time, so the device does
// not revert while gridmesh holds it; and the registers that put it in
// force (mode, reversion time) once per connection, or again when a
// reading shows the device dropped them (it reverted).

// writePolicy is when a held setpoint is written: pure, of what was
// written, what is wanted and the time.
type writePolicy struct {
	minInterval time.Duration // between two setpoint writes to the device
	refresh     time.Duration // rewrite an unchanged setpoint this long after the last write
	deadbandW   gridmesh.W    // a smaller move is not written
}

// policy is the configuration's write policy.
func (c Config) policy() writePolicy {
	return writePolicy{minInterval: c.MinWriteInterval, refresh: c.ReversionTimeout / 2, deadbandW: c.DeadbandW}
}

// sent is what the current connection wrote of one setpoint.
type sent struct {
	ok   bool       // the setpoint and its statics are on the device
	w    gridmesh.W // the power written
	set  []uint16   // the setpoint's registers written
	ena  uint16     // the enable written, for a command that has one
	at   time.Time  // when
	sess *session   // the connection this refers to; another one starts over
}

// need returns the writes cmd (for want) takes now, the device's write
// budget aside: everything when nothing is on the device yet; the value
// (with its enable) when it moved beyond the deadband or its enable
// flips; the value alone when it is due for its refresh; else nothing.
func (p writePolicy) need(s sent, cmd command, want gridmesh.W, now time.Time) []write {
	if !s.ok {
		return cmd.all()
	}
	if cmd.enable != nil && cmd.enable.regs[0] != s.ena {
		return []write{cmd.set, *cmd.enable}
	}
	moved := !slices.Equal(cmd.set.regs, s.set) && gridmesh.W(math.Abs(float64(want-s.w))) >= p.deadbandW
	if moved || now.Sub(s.at) >= p.refresh {
		return []write{cmd.set}
	}
	return nil
}

// allowed reports whether the device's write budget lets a setpoint be
// written now, the last setpoint write to it having been at last (zero:
// none yet).
func (p writePolicy) allowed(last, now time.Time) bool {
	return last.IsZero() || now.Sub(last) >= p.minInterval
}

// steer is one setpoint the driver holds on the device. Guarded by
// Device.ioMu.
type steer struct {
	want   gridmesh.W
	wanted bool      // false before the first setpoint and after Release
	since  time.Time // when a write became needed and was held back; zero: none held back
	sent   sent
}

// on returns what was sent on s, or nothing if that was another
// connection's.
func (st *steer) on(s *session) sent {
	if st.sent.sess != s {
		return sent{}
	}
	return st.sent
}

// flush writes what the policy says is due of st on s, given cmd (the
// writes for st.want) and what the device shows now (kept: false when a
// reading found the device no longer holds what was written). other is
// the device's other setpoint: when it has waited longer for the write
// budget, it goes first. The caller holds ioMu.
func (d *Device) flush(s *session, h ModelHeader, st, other *steer, cmd command, kept bool, write func([]write) error) error {
	if !st.wanted {
		return nil
	}
	now := d.now()
	cur := st.on(s)
	if cur.ok && !kept {
		d.log.Info("device dropped a setpoint; writing it again", "model", h.ID)
		cur.ok = false
	}
	ws := d.cfg.policy().need(cur, cmd, st.want, now)
	if ws == nil {
		st.since = time.Time{}
		return nil
	}
	if st.since.IsZero() {
		st.since = now
	}
	if !d.cfg.policy().allowed(d.lastWrite, now) || !other.since.IsZero() && other.since.Before(st.since) {
		return nil
	}
	d.lastWrite = now
	cur.ok = false // until every write of the batch went through
	st.sent = cur
	if err := write(ws); err != nil {
		return err
	}
	d.stats.setpointWrites.Add(1)
	st.since = time.Time{}
	en := cur.ena
	if cmd.enable != nil {
		en = cmd.enable.regs[0]
	}
	st.sent = sent{ok: true, w: st.want, set: cmd.set.regs, ena: en, at: now, sess: s}
	return nil
}

// hold makes w the setpoint wanted of st.
func (st *steer) hold(w gridmesh.W) { st.want, st.wanted = w, true }

// release forgets the setpoint: nothing more is written of it, and a
// setpoint given later is written whole again.
func (st *steer) release() { *st = steer{} }
