// Package dashboard serves the live web page of a home, or of a whole
// city: the HTML, CSS and script embedded in the binary (no CDN, no
// build step), and a Server-Sent Events stream of JSON snapshots the
// page renders.
//
// A caller supplies a Source, which returns the Page to show now; the
// Handler asks it once a second for every client it streams to. The
// package decides nothing about a home: node builds a home's Page from
// its status, telemetry and energy totals, and the testnet builds a
// city's from its homes. Every path the page requests is relative, so
// the Handler may be mounted under any prefix (http.StripPrefix).
//
// Routes (relative to where the Handler is mounted):
//
//	GET /               the page
//	GET /app.js         its script
//	GET /style.css      its style sheet
//	GET /events         text/event-stream: one "data:" line of a Page in JSON
//	                    every Config.Period, until the client goes away
//	GET /snapshot.json  the Page now, once
//
// Streams are bounded (Config.MaxClients): past the bound a client is
// answered 503 with Retry-After, and the page tries again on its own.
package dashboard
