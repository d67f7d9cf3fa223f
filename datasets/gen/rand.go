package gen

import "hash/fnv"

// Rand is a small deterministic random source (SplitMix64). It is implemented here, not taken
// from math/rand, so that the committed datasets do not depend on how a Go release draws numbers:
// the same seed gives the same bytes with any toolchain.
type Rand struct{ state uint64 }

// NewRand returns the stream for one example: it mixes the global seed, a stream name (for
// example "sft_recall/train") and the example index, so that each example is reproducible on
// its own and changing the size of one split does not move the examples of another.
func NewRand(seed uint64, stream string, index int) *Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	r := &Rand{state: seed ^ h.Sum64()*0x9E3779B97F4A7C15 ^ uint64(index)*0xBF58476D1CE4E5B9}
	r.Uint64() // decorrelate nearby indices
	return r
}

// Uint64 returns the next 64 random bits.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9E3779B97F4A7C15
	z := r.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// IntN returns a number in [0, n); n must be positive. The modulo bias is below 2⁻⁵⁰ for the
// small n used here.
func (r *Rand) IntN(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.Uint64() % uint64(n))
}

// Range returns a number in [lo, hi].
func (r *Rand) Range(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// Chance reports true with probability p.
func (r *Rand) Chance(p float64) bool {
	return float64(r.Uint64()>>11)/float64(1<<53) < p
}

// Pick returns a random element of xs (the zero value for an empty slice).
func Pick[T any](r *Rand, xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[r.IntN(len(xs))]
}

// Perm returns a random permutation of 0..n-1.
func (r *Rand) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
