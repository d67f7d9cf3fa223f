package train

import (
	"fmt"
	"math/rand/v2"
)

// Example is one training sequence: input ids and labels of the same length, labels aligned
// with the inputs and IgnoreIndex (-100) where the token is not learned (the output of a
// masking strategy).
type Example struct {
	InputIDs []int32
	Labels   []int32
	// Turns optionally gives, per token, the 1-based index of the assistant turn it belongs to
	// (0 outside assistant replies); evaluation then reports metrics per turn.
	Turns []int32
}

// Batch is one micro-batch of B rows of T tokens. Rows are [T] slices; optional fields are nil
// when absent.
type Batch struct {
	InputIDs [][]int32
	Labels   [][]int32
	// PositionIDs and SegmentIDs describe packed rows (several sequences per row); nil when
	// each row is one sequence.
	PositionIDs [][]int32
	SegmentIDs  [][]int32
	// Turns is the per-token assistant turn index (see Example.Turns); optional.
	Turns [][]int32
}

// Dims returns the batch size B and the sequence length T.
func (b Batch) Dims() (B, T int) {
	if len(b.InputIDs) == 0 {
		return 0, 0
	}
	return len(b.InputIDs), len(b.InputIDs[0])
}

// Validate checks that every present field is a B×T matrix.
func (b Batch) Validate() error {
	B, T := b.Dims()
	if B == 0 || T == 0 {
		return fmt.Errorf("empty batch (%d rows of %d tokens)", B, T)
	}
	check := func(what string, m [][]int32, optional bool) error {
		if m == nil && optional {
			return nil
		}
		if len(m) != B {
			return fmt.Errorf("%s has %d rows, input_ids %d", what, len(m), B)
		}
		for i, row := range m {
			if len(row) != T {
				return fmt.Errorf("%s row %d has %d tokens, want %d", what, i, len(row), T)
			}
		}
		return nil
	}
	for _, f := range []struct {
		what     string
		m        [][]int32
		optional bool
	}{{"input_ids", b.InputIDs, false}, {"labels", b.Labels, false}, {"position_ids", b.PositionIDs, true},
		{"segment_ids", b.SegmentIDs, true}, {"turns", b.Turns, true}} {
		if err := check(f.what, f.m, f.optional); err != nil {
			return err
		}
	}
	if (b.PositionIDs == nil) != (b.SegmentIDs == nil) {
		return fmt.Errorf("position_ids and segment_ids must be given together")
	}
	return nil
}

// SupervisedTokens counts the tokens that enter the loss: labels[t+1] != IgnoreIndex for
// t < T−1 (the label of a row's first token is never predicted).
func (b Batch) SupervisedTokens() int {
	n := 0
	for _, row := range b.Labels {
		for t := 1; t < len(row); t++ {
			if row[t] != IgnoreIndex {
				n++
			}
		}
	}
	return n
}

// Tokens returns B×T, the number of token positions the model processes (padding included).
func (b Batch) Tokens() int {
	B, T := b.Dims()
	return B * T
}

// Loader gives the micro-batches of one epoch. Batch must be deterministic in (epoch, i): the
// trainer's data position is (epoch, i), saved in checkpoints, and a resumed run asks for the
// same batches again.
type Loader interface {
	// NumBatches returns the number of micro-batches per epoch.
	NumBatches() int
	// Batch returns micro-batch i (0-based) of epoch epoch (0-based).
	Batch(epoch, i int) (Batch, error)
}

// PadBatch builds a batch from examples padded on the right to the longest (rounded up to a
// multiple of padToMultipleOf when > 0): inputs with padID, labels with IgnoreIndex, turns with
// 0. Right padding needs no attention mask with causal attention: real tokens never see pads.
func PadBatch(examples []Example, padID int32, padToMultipleOf int) (Batch, error) {
	if len(examples) == 0 {
		return Batch{}, fmt.Errorf("PadBatch: no examples")
	}
	T := 0
	withTurns := false
	for i, ex := range examples {
		if len(ex.InputIDs) == 0 {
			return Batch{}, fmt.Errorf("PadBatch: example %d is empty", i)
		}
		if len(ex.Labels) != len(ex.InputIDs) {
			return Batch{}, fmt.Errorf("PadBatch: example %d has %d labels for %d input ids", i, len(ex.Labels), len(ex.InputIDs))
		}
		if ex.Turns != nil && len(ex.Turns) != len(ex.InputIDs) {
			return Batch{}, fmt.Errorf("PadBatch: example %d has %d turn indices for %d input ids", i, len(ex.Turns), len(ex.InputIDs))
		}
		withTurns = withTurns || ex.Turns != nil
		T = max(T, len(ex.InputIDs))
	}
	if padToMultipleOf > 0 {
		T = (T + padToMultipleOf - 1) / padToMultipleOf * padToMultipleOf
	}
	b := Batch{InputIDs: make([][]int32, len(examples)), Labels: make([][]int32, len(examples))}
	if withTurns {
		b.Turns = make([][]int32, len(examples))
	}
	for i, ex := range examples {
		ids, labels := make([]int32, T), make([]int32, T)
		copy(ids, ex.InputIDs)
		copy(labels, ex.Labels)
		for t := len(ex.InputIDs); t < T; t++ {
			ids[t], labels[t] = padID, IgnoreIndex
		}
		b.InputIDs[i], b.Labels[i] = ids, labels
		if withTurns {
			turns := make([]int32, T)
			copy(turns, ex.Turns)
			b.Turns[i] = turns
		}
	}
	return b, nil
}

// ExampleLoader batches examples padded to the longest of each micro-batch, in an order
// shuffled per epoch from Seed (or in the given order when Shuffle is false). The last batch of
// an epoch may be smaller.
type ExampleLoader struct {
	Examples        []Example
	BatchSize       int   // per_device_train_batch_size
	Shuffle         bool  // reshuffle each epoch
	Seed            int64 // shuffling seed (the run's seed)
	PadID           int32 // input id of padding
	PadToMultipleOf int   // round T up to a multiple (fewer distinct shapes, fewer compilations)

	// The order of the last epoch asked for (fields must not change once batches are read).
	orderEpoch int
	order      []int
}

// NewExampleLoader returns a shuffling ExampleLoader.
func NewExampleLoader(examples []Example, batchSize int, seed int64) *ExampleLoader {
	return &ExampleLoader{Examples: examples, BatchSize: batchSize, Shuffle: true, Seed: seed}
}

// NumBatches implements Loader.
func (l *ExampleLoader) NumBatches() int {
	if l.BatchSize <= 0 {
		return 0
	}
	return (len(l.Examples) + l.BatchSize - 1) / l.BatchSize
}

// Order returns the example order of an epoch (the slice is shared: do not modify it).
func (l *ExampleLoader) Order(epoch int) []int {
	if l.order != nil && l.orderEpoch == epoch && len(l.order) == len(l.Examples) {
		return l.order
	}
	order := make([]int, len(l.Examples))
	for i := range order {
		order[i] = i
	}
	if l.Shuffle {
		rng := rand.New(rand.NewPCG(uint64(l.Seed), uint64(epoch)+0x9e3779b97f4a7c15))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	l.order, l.orderEpoch = order, epoch
	return order
}

// Batch implements Loader.
func (l *ExampleLoader) Batch(epoch, i int) (Batch, error) {
	if l.BatchSize <= 0 {
		return Batch{}, fmt.Errorf("ExampleLoader: batch size %d must be > 0", l.BatchSize)
	}
	if i < 0 || i >= l.NumBatches() {
		return Batch{}, fmt.Errorf("ExampleLoader: batch %d out of range [0, %d)", i, l.NumBatches())
	}
	order := l.Order(epoch)
	end := min(len(order), (i+1)*l.BatchSize)
	exs := make([]Example, 0, end-i*l.BatchSize)
	for _, j := range order[i*l.BatchSize : end] {
		exs = append(exs, l.Examples[j])
	}
	b, err := PadBatch(exs, l.PadID, l.PadToMultipleOf)
	if err != nil {
		return Batch{}, fmt.Errorf("epoch %d batch %d: %w", epoch, i, err)
	}
	return b, nil
}

// BatchLoader serves ready-made batches (e.g. packed rows), in order or shuffled per epoch.
type BatchLoader struct {
	Batches []Batch
	Shuffle bool
	Seed    int64

	orderEpoch int
	order      []int
}

// NumBatches implements Loader.
func (l *BatchLoader) NumBatches() int { return len(l.Batches) }

// Batch implements Loader.
func (l *BatchLoader) Batch(epoch, i int) (Batch, error) {
	if i < 0 || i >= len(l.Batches) {
		return Batch{}, fmt.Errorf("BatchLoader: batch %d out of range [0, %d)", i, len(l.Batches))
	}
	if !l.Shuffle {
		return l.Batches[i], nil
	}
	if l.order == nil || l.orderEpoch != epoch || len(l.order) != len(l.Batches) {
		l.order = make([]int, len(l.Batches))
		for j := range l.order {
			l.order[j] = j
		}
		rng := rand.New(rand.NewPCG(uint64(l.Seed), uint64(epoch)+0x9e3779b97f4a7c15))
		rng.Shuffle(len(l.order), func(a, b int) { l.order[a], l.order[b] = l.order[b], l.order[a] })
		l.orderEpoch = epoch
	}
	return l.Batches[l.order[i]], nil
}
