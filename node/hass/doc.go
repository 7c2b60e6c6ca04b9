// Package hass publishes a home to Home Assistant over MQTT: its state
// (power, state of charge, energy counters in kWh, what the owner's
// settings make it do) with Home Assistant's MQTT discovery, and
// writable entities for the owner's settings (backup reserve, opt-out of
// the next demand-response event, pause of steering) whose commands it
// hands to the home.
//
// Topics follow a versioned schema, docs/HOME_ASSISTANT.md:
//
//	<base>/v1/<home>/availability   "online" / "offline" (retained; the last will)
//	<base>/v1/<home>/state          JSON state (retained)
//	<base>/v1/<home>/set/<setting>  commands: reserve_pct, opt_out_next, paused
//	<discovery>/<component>/gridmesh_<home>/<object>/config   discovery (retained)
//
// Callers build a Publisher with New and run it with Run, which owns one
// broker connection: it returns when ctx ends (after announcing
// "offline") or when the connection fails, and the caller restarts it
// with backoff (node's supervisor does).
package hass
