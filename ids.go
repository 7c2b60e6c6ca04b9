package gridmesh

import (
	"errors"
	"fmt"
)

// HomeID names one home. It is unique within a deployment.
type HomeID string

// NeighborhoodID names one neighborhood: the homes behind one feeder or
// transformer, which share one Raft group and one set of gossip topics.
type NeighborhoodID string

// MaxIDLen bounds the length of any identifier carried on the wire, so a
// peer cannot make others store or log arbitrarily long names.
const MaxIDLen = 64

// ErrBadID is wrapped by every identifier validation error.
var ErrBadID = errors.New("bad identifier")

// validID accepts 1..MaxIDLen bytes of [A-Za-z0-9._-]: safe in topic
// names, file paths and log lines.
func validID(kind, s string) error { return validName(kind, s, MaxIDLen) }

// ValidClusterName accepts a Raft cluster's name: 1..MaxClusterLen bytes
// of [A-Za-z0-9._-]. Names travel in telemetry and in the Raft streams'
// protocol IDs.
func ValidClusterName(s string) error { return validName("cluster name", s, MaxClusterLen) }

// validName accepts 1..max bytes of [A-Za-z0-9._-].
func validName(kind, s string, max int) error {
	if len(s) == 0 || len(s) > max {
		return fmt.Errorf("%w: %s %q must be 1 to %d characters", ErrBadID, kind, s, max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %s %q has character %q (allowed: letters, digits, . _ -)", ErrBadID, kind, s, c)
		}
	}
	return nil
}

// Validate reports whether the home ID is well formed.
func (h HomeID) Validate() error { return validID("home", string(h)) }

// Validate reports whether the neighborhood ID is well formed.
func (n NeighborhoodID) Validate() error { return validID("neighborhood", string(n)) }
