package mqtt

import "sync/atomic"

// Stats counts what a Device has done since New.
type Stats struct {
	// Messages is the state messages received, good or bad.
	Messages uint64
	// DecodeErrors is the state messages refused (see ErrBadPayload);
	// they changed nothing.
	DecodeErrors uint64
	// Reconnects is the connections established after the first one.
	Reconnects uint64
	// SetpointsPublished is the setpoints the broker accepted (PUBACK at
	// QoS 1), first sends and re-sends alike.
	SetpointsPublished uint64
	// Releases is the release payloads the broker accepted.
	Releases uint64
	// Keepalives is the keepalives the broker accepted
	// (Config.KeepaliveTopic).
	Keepalives uint64
}

// counters are the live counters behind Stats.
type counters struct {
	messages, decodeErrors, reconnects, setpoints, releases, keepalives atomic.Uint64
}

// Stats returns the counters now.
func (d *Device) Stats() Stats {
	return Stats{
		Messages:           d.stats.messages.Load(),
		DecodeErrors:       d.stats.decodeErrors.Load(),
		Reconnects:         d.stats.reconnects.Load(),
		SetpointsPublished: d.stats.setpoints.Load(),
		Releases:           d.stats.releases.Load(),
		Keepalives:         d.stats.keepalives.Load(),
	}
}
