package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Split divides items into a training and a validation part, deterministically for a given
// seed: a seeded permutation picks round(validFraction·n) items for validation (at least one
// when validFraction > 0 and n ≥ 2), and both parts keep the input order. validFraction must
// lie in [0, 1).
func Split[T any](items []T, validFraction float64, seed uint64) (train, valid []T, err error) {
	if !(validFraction >= 0 && validFraction < 1) {
		return nil, nil, fmt.Errorf("data: validation fraction %v not in [0, 1)", validFraction)
	}
	n := len(items)
	nValid := int(math.Round(validFraction * float64(n)))
	if validFraction > 0 && nValid == 0 && n >= 2 {
		nValid = 1
	}
	if nValid >= n && n > 0 {
		nValid = n - 1
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6f72616c6162)) // "loralab"
	isValid := make([]bool, n)
	for _, i := range rng.Perm(n)[:nValid] {
		isValid[i] = true
	}
	train = make([]T, 0, n-nValid)
	valid = make([]T, 0, nValid)
	for i, it := range items {
		if isValid[i] {
			valid = append(valid, it)
		} else {
			train = append(train, it)
		}
	}
	return train, valid, nil
}
