package mask

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// Batch is a micro-batch of B rows of T tokens, what a training step reads. Rows are [T]
// slices; optional fields are nil when absent.
type Batch struct {
	InputIDs [][]int32
	// Labels are aligned with InputIDs, IgnoreIndex where nothing is learned (the loss shifts).
	Labels [][]int32
	// Turn is the per-token turn index, as Example.Turn (-1 for none and for padding); optional.
	Turn [][]int32
	// PositionIDs and SegmentIDs describe packed rows (several examples per row, see
	// PackedRow); nil when each row is one example.
	PositionIDs [][]int32
	SegmentIDs  [][]int32
	// Examples lists, for padded batches, the index of each row's example in the input of
	// PadBatches (nil otherwise).
	Examples []int
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
	for _, f := range []struct {
		what     string
		m        [][]int32
		optional bool
	}{{"input_ids", b.InputIDs, false}, {"labels", b.Labels, false}, {"position_ids", b.PositionIDs, true},
		{"segment_ids", b.SegmentIDs, true}, {"turn", b.Turn, true}} {
		if f.m == nil && f.optional {
			continue
		}
		if len(f.m) != B {
			return fmt.Errorf("%s has %d rows, input_ids %d", f.what, len(f.m), B)
		}
		for i, row := range f.m {
			if len(row) != T {
				return fmt.Errorf("%s row %d has %d tokens, want %d", f.what, i, len(row), T)
			}
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

// PadBatch makes one batch of examples padded on the right to the longest (rounded up to a
// multiple of padToMultipleOf when > 0): input ids with padID, labels with IgnoreIndex, turns
// with -1. Right padding needs no attention mask under causal attention: real tokens never see
// the pads. It is the one padding of examples (PadBatches and train's loaders use it).
func PadBatch(examples []Example, padID int32, padToMultipleOf int) (Batch, error) {
	if len(examples) == 0 {
		return Batch{}, fmt.Errorf("mask: PadBatch: no examples")
	}
	T, withTurn := 0, false
	for i, ex := range examples {
		if ex.Len() == 0 {
			return Batch{}, fmt.Errorf("mask: PadBatch: example %d is empty", i)
		}
		if len(ex.Labels) != ex.Len() {
			return Batch{}, fmt.Errorf("mask: PadBatch: example %d has %d labels for %d input ids", i, len(ex.Labels), ex.Len())
		}
		if ex.Turn != nil && len(ex.Turn) != ex.Len() {
			return Batch{}, fmt.Errorf("mask: PadBatch: example %d has %d turn indices for %d input ids", i, len(ex.Turn), ex.Len())
		}
		withTurn = withTurn || ex.Turn != nil
		T = max(T, ex.Len())
	}
	if padToMultipleOf > 0 {
		T = (T + padToMultipleOf - 1) / padToMultipleOf * padToMultipleOf
	}
	b := Batch{InputIDs: make([][]int32, len(examples)), Labels: make([][]int32, len(examples))}
	if withTurn {
		b.Turn = make([][]int32, len(examples))
	}
	for i, ex := range examples {
		ids, labels := make([]int32, T), make([]int32, T)
		copy(ids, ex.InputIDs)
		copy(labels, ex.Labels)
		for t := ex.Len(); t < T; t++ {
			ids[t], labels[t] = padID, IgnoreIndex
		}
		b.InputIDs[i], b.Labels[i] = ids, labels
		if withTurn {
			turn := make([]int32, T)
			n := copy(turn, ex.Turn)
			for t := n; t < T; t++ {
				turn[t] = -1
			}
			b.Turn[i] = turn
		}
	}
	return b, nil
}

// Permutation returns a random permutation of 0 … n−1, a function of (seed, epoch) only: the
// one shuffle of examples and batches (PadBatches, and train's loaders at every epoch).
func Permutation(n int, seed uint64, epoch int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)+0x9e3779b97f4a7c15))
	rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// BatchOptions tune PadBatches.
type BatchOptions struct {
	BatchSize int
	PadID     int32
	// PadToMultipleOf rounds each batch's length up to a multiple (fewer distinct shapes, fewer
	// compilations); 0 pads to the longest example.
	PadToMultipleOf int
	// GroupByLength samples batches of similar lengths, as HF's group_by_length: a random
	// permutation is cut into mega-batches of BatchSize*MegaBatchMult examples, each sorted
	// by length (longest first) and cut into batches. Otherwise batches follow a random
	// permutation.
	GroupByLength bool
	// MegaBatchMult defaults to 50 (HF's LengthGroupedSampler).
	MegaBatchMult int
	// Seed makes the order reproducible.
	Seed uint64
}

// PadBatches groups examples into batches (in a random order from Seed, by length with
// GroupByLength) and pads each with PadBatch.
func PadBatches(examples []Example, o BatchOptions) ([]Batch, PadStats, error) {
	if o.BatchSize <= 0 {
		return nil, PadStats{}, fmt.Errorf("mask: batch size %d must be positive", o.BatchSize)
	}
	mult := o.MegaBatchMult
	if mult <= 0 {
		mult = 50
	}
	perm := Permutation(len(examples), o.Seed, 0)
	if o.GroupByLength {
		mega := o.BatchSize * mult
		for s := 0; s < len(perm); s += mega {
			part := perm[s:min(s+mega, len(perm))]
			sort.SliceStable(part, func(a, b int) bool { return examples[part[a]].Len() > examples[part[b]].Len() })
		}
	}
	var batches []Batch
	var st PadStats
	for s := 0; s < len(perm); s += o.BatchSize {
		idx := perm[s:min(s+o.BatchSize, len(perm))]
		exs := make([]Example, len(idx))
		for j, i := range idx {
			exs[j] = examples[i]
			st.Tokens += examples[i].Len()
		}
		b, err := PadBatch(exs, o.PadID, o.PadToMultipleOf)
		if err != nil {
			return nil, PadStats{}, fmt.Errorf("batch %d: %w", len(batches), err)
		}
		b.Examples = append([]int(nil), idx...)
		st.PaddingTokens += b.Tokens() - exsTokens(exs)
		batches = append(batches, b)
	}
	st.Rows = len(batches)
	return batches, st, nil
}

func exsTokens(exs []Example) (n int) {
	for _, ex := range exs {
		n += ex.Len()
	}
	return n
}

// PackedBatches groups packed rows (Pack) into batches of rowsPerBatch rows, with their position
// and segment ids. examples are the examples given to Pack: their turn indices are laid out
// along the rows. The label of each example's first token is set to IgnoreIndex (as HF's
// DataCollatorWithFlattening does), so that no example learns to predict the next one.
func PackedBatches(rows []PackedRow, examples []Example, rowsPerBatch int) ([]Batch, error) {
	if rowsPerBatch <= 0 {
		return nil, fmt.Errorf("mask: PackedBatches: rows per batch %d must be > 0", rowsPerBatch)
	}
	var out []Batch
	for start := 0; start < len(rows); start += rowsPerBatch {
		var b Batch
		for ri := start; ri < min(start+rowsPerBatch, len(rows)); ri++ {
			r := rows[ri]
			labels := append([]int32(nil), r.Labels...)
			turn := make([]int32, len(r.InputIDs))
			for j := range turn {
				turn[j] = -1
			}
			pos := 0
			for _, ei := range r.Examples {
				if ei < 0 || ei >= len(examples) {
					return nil, fmt.Errorf("mask: PackedBatches: row %d names example %d of %d", ri, ei, len(examples))
				}
				ex := examples[ei]
				if pos+ex.Len() > len(turn) {
					return nil, fmt.Errorf("mask: PackedBatches: row %d: examples overflow the row of %d tokens", ri, len(turn))
				}
				labels[pos] = IgnoreIndex
				copy(turn[pos:pos+ex.Len()], ex.Turn)
				pos += ex.Len()
			}
			b.InputIDs = append(b.InputIDs, r.InputIDs)
			b.Labels = append(b.Labels, labels)
			b.PositionIDs = append(b.PositionIDs, r.PositionIDs)
			b.SegmentIDs = append(b.SegmentIDs, r.SegmentIDs)
			b.Turn = append(b.Turn, turn)
		}
		if err := b.Validate(); err != nil {
			return nil, fmt.Errorf("mask: PackedBatches: batch %d: %w", len(out), err)
		}
		out = append(out, b)
	}
	return out, nil
}
