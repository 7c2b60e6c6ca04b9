//go:build race

package node_test

// raceEnabled reports whether the test binary runs under the race
// detector; see TestMain.
const raceEnabled = true
