package sim

// Deterministic pseudo-randomness for the pure device functions: a value
// is a hash of (seed, salt, x), so the same inputs give the same value
// with no state kept anywhere.

// Salts keep the streams derived from one seed independent of each other.
const (
	saltMorningCenter uint64 = iota + 1
	saltMorningWidth
	saltEveningCenter
	saltEveningWidth
	saltActivity
	saltApplianceOn
	saltAppliancePower
	saltApplianceLength
	saltApplianceStart
	saltCloudOn
	saltCloudLength
	saltCloudStart
	saltCloudDepth
	saltSessionOn
	saltSessionArrive
	saltSessionStay
	saltSessionWant
)

// splitmix64 is the finalizer of the SplitMix64 generator: a cheap
// bijection on uint64 whose output bits all depend on every input bit.
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// unit hashes (seed, salt, x) to a float in [0, 1).
func unit(seed, salt, x uint64) float64 {
	z := splitmix64(splitmix64(seed^splitmix64(salt)) ^ x)
	return float64(z>>11) / (1 << 53)
}
