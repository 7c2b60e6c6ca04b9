package node

import (
	"errors"
	"fmt"
	"os"
)

// ErrKeyExposed is returned when a private key file can be read or
// written by anyone but its owner.
var ErrKeyExposed = errors.New("private key readable by others")

// checkPrivate refuses a private key file whose mode gives its group or
// others any access: anyone who can read the identity key is the home,
// the neighborhood key admits homes, the operator key steers a region.
// Every key gridmesh writes is 0600; a looser one was copied or chmodded
// by hand, and is refused rather than used.
func checkPrivate(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrKeyExposed, path, perm, path)
	}
	return nil
}
