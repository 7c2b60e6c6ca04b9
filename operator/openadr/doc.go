// Package openadr is an OpenADR 3 VEN bridge at the edge of the mesh: it
// polls a VTN's events (OAuth2 client credentials), turns them into the
// grid operator's signed regional signals, and posts reports back.
//
// The core is pure: Convert (events → the cuts they ask now), Reconcile
// (those cuts against the steps already published → steps to publish:
// new, changed, or withdrawn by a step of zero), BuildReport. Bridge.Run
// is the thin runner around them; GossipMeter estimates what the region
// delivers from the aggregates its leaders gossip.
//
// Callers give the bridge a Publisher (node.Operator) and a Meter, and
// run it under a context. Nothing in the mesh waits on the bridge: a
// signal it published holds to its end if the bridge or the VTN dies,
// and a cancelled event can only be withdrawn while the bridge runs.
// See docs/OPENADR.md for the mapping and what is not supported.
package openadr
