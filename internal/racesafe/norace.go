//go:build !race

package racesafe

// raceEnabled reports whether the binary runs under the race detector.
const raceEnabled = false
