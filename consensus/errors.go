package consensus

import (
	"errors"
	"fmt"
)

// ErrNotAdmitted is wrapped by the transport's error when it refuses to
// dial a peer that Config.Admit does not admit.
var ErrNotAdmitted = errors.New("peer not admitted")

// NotLeaderError is returned by Commit and VerifyLeader on a member that
// is not the leader. Nothing was committed.
type NotLeaderError struct {
	// Leader is the known leader's peer ID string, "" if none is known.
	Leader string
}

func (e *NotLeaderError) Error() string {
	if e.Leader == "" {
		return "consensus: not the leader, and no leader known"
	}
	return fmt.Sprintf("consensus: not the leader; the leader is %s", e.Leader)
}
