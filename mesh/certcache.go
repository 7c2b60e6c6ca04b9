package mesh

import (
	"crypto/ed25519"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
)

// certCache remembers the membership certificates whose signature this
// host has verified, so that a certificate seen again (every region
// aggregate carries its leader's, and every home hears every leader's,
// every aggregate period) costs a map lookup and Check instead of an
// ed25519 check (about 55 µs: BenchmarkGossipSignatureVerify). The key
// is everything the signature covers, the signature and the key it was
// checked with: a certificate altered in any byte is verified afresh.
// Its map is guarded by mu.
type certCache struct {
	mu sync.Mutex
	ok map[string]struct{}
}

// certCacheMax bounds the cache: a region's leaders, each renewing its
// certificate now and then, are far fewer. When full it is emptied (the
// next of each is verified again), so a flood of distinct valid
// certificates costs memory no more than this.
const certCacheMax = 4096

// verify is gridmesh.Membership.Verify, with the signature checked once.
func (c *certCache) verify(m gridmesh.Membership, pub ed25519.PublicKey, nbhd gridmesh.NeighborhoodID, now time.Time) error {
	if err := m.Check(nbhd, now); err != nil {
		return err
	}
	key := string(pub) + string(m.Signature) + string(m.SigningBytes())
	c.mu.Lock()
	_, seen := c.ok[key]
	c.mu.Unlock()
	if seen {
		return nil
	}
	if err := m.Verify(pub, nbhd, now); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil || len(c.ok) >= certCacheMax {
		c.ok = make(map[string]struct{})
	}
	c.ok[key] = struct{}{}
	return nil
}
