package ocpp

import "sync/atomic"

// Stats counts what passed between the home and the charger.
type Stats struct {
	// Connects and Disconnects count the charger's connections opened
	// and ended (announced or found dead after SilenceTimeout, or
	// replaced by a new one).
	Connects, Disconnects uint64
	// Boots counts BootNotifications; PreBootCalls the calls of a charger
	// that had not booted (answered, and counted here).
	Boots, PreBootCalls uint64
	// ProfilesSent counts SetChargingProfile requests;
	// ProfilesAccepted, ProfilesRejected their answers; Unanswered those
	// not answered within AnswerTimeout (or cut by a disconnection),
	// each also returned once as a device error.
	ProfilesSent, ProfilesAccepted, ProfilesRejected, Unanswered uint64
	// Releases counts ClearChargingProfile requests the charger accepted.
	Releases uint64
}

// stats are the counters, written by the handlers, the writer and
// Release; read by Stats.
type stats struct {
	connects, disconnects, boots, preBootCalls                   atomic.Uint64
	profilesSent, profilesAccepted, profilesRejected, unanswered atomic.Uint64
	releases                                                     atomic.Uint64
}

// Stats returns the counters now.
func (c *Charger) Stats() Stats {
	s := &c.stats
	return Stats{
		Connects: s.connects.Load(), Disconnects: s.disconnects.Load(),
		Boots: s.boots.Load(), PreBootCalls: s.preBootCalls.Load(),
		ProfilesSent: s.profilesSent.Load(), ProfilesAccepted: s.profilesAccepted.Load(),
		ProfilesRejected: s.profilesRejected.Load(), Unanswered: s.unanswered.Load(),
		Releases: s.releases.Load(),
	}
}
