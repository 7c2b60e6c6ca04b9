package session

import (
	"crypto/rand"
	"encoding/hex"
)

// RandomClientID returns prefix followed by "-" and 8 random hex digits:
// a client ID that two processes (or a restarted one whose old connection
// the broker has not dropped yet) do not share. Two clients with one ID
// would take turns kicking each other off the broker.
func RandomClientID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "-" + hex.EncodeToString(b[:])
}
