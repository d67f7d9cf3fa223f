package train

import (
	"fmt"

	"github.com/loralab/loralab/pkg/mask"
)

// Loader gives the micro-batches of one epoch. Batch must be deterministic in (epoch, i): the
// trainer's data position is (epoch, i), saved in checkpoints, and a resumed run asks for the
// same batches again.
type Loader interface {
	// NumBatches returns the number of micro-batches per epoch.
	NumBatches() int
	// Batch returns micro-batch i (0-based) of epoch epoch (0-based).
	Batch(epoch, i int) (mask.Batch, error)
}

// epochOrder is the order of n items in an epoch: shuffled from seed (mask.Permutation), or
// in order. It keeps the last epoch's order, since a loader is read epoch after epoch.
type epochOrder struct {
	epoch int
	order []int
}

func (o *epochOrder) get(n int, shuffle bool, seed int64, epoch int) []int {
	if o.order != nil && o.epoch == epoch && len(o.order) == n {
		return o.order
	}
	if shuffle {
		o.order = mask.Permutation(n, uint64(seed), epoch)
	} else {
		o.order = make([]int, n)
		for i := range o.order {
			o.order[i] = i
		}
	}
	o.epoch = epoch
	return o.order
}

// ExampleLoader batches examples padded to the longest of each micro-batch (mask.PadBatch), in
// an order shuffled per epoch from Seed (or in the given order when Shuffle is false). The last
// batch of an epoch may be smaller.
type ExampleLoader struct {
	Examples        []mask.Example
	BatchSize       int   // per_device_train_batch_size
	Shuffle         bool  // reshuffle each epoch
	Seed            int64 // shuffling seed (the run's seed)
	PadID           int32 // input id of padding
	PadToMultipleOf int   // round T up to a multiple (fewer distinct shapes, fewer compilations)

	order epochOrder // fields must not change once batches are read
}

// NewExampleLoader returns a shuffling ExampleLoader.
func NewExampleLoader(examples []mask.Example, batchSize int, seed int64) *ExampleLoader {
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
	return l.order.get(len(l.Examples), l.Shuffle, l.Seed, epoch)
}

// Batch implements Loader.
func (l *ExampleLoader) Batch(epoch, i int) (mask.Batch, error) {
	if l.BatchSize <= 0 {
		return mask.Batch{}, fmt.Errorf("ExampleLoader: batch size %d must be > 0", l.BatchSize)
	}
	if i < 0 || i >= l.NumBatches() {
		return mask.Batch{}, fmt.Errorf("ExampleLoader: batch %d out of range [0, %d)", i, l.NumBatches())
	}
	order := l.Order(epoch)
	end := min(len(order), (i+1)*l.BatchSize)
	exs := make([]mask.Example, 0, end-i*l.BatchSize)
	for _, j := range order[i*l.BatchSize : end] {
		exs = append(exs, l.Examples[j])
	}
	b, err := mask.PadBatch(exs, l.PadID, l.PadToMultipleOf)
	if err != nil {
		return mask.Batch{}, fmt.Errorf("epoch %d batch %d: %w", epoch, i, err)
	}
	return b, nil
}

// BatchLoader serves ready-made batches (e.g. mask.PackedBatches), in order or shuffled per
// epoch.
type BatchLoader struct {
	Batches []mask.Batch
	Shuffle bool
	Seed    int64

	order epochOrder
}

// NumBatches implements Loader.
func (l *BatchLoader) NumBatches() int { return len(l.Batches) }

// Batch implements Loader.
func (l *BatchLoader) Batch(epoch, i int) (mask.Batch, error) {
	if i < 0 || i >= len(l.Batches) {
		return mask.Batch{}, fmt.Errorf("BatchLoader: batch %d out of range [0, %d)", i, len(l.Batches))
	}
	return l.Batches[l.order.get(len(l.Batches), l.Shuffle, l.Seed, epoch)[i]], nil
}
