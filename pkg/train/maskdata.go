package train

import (
	"fmt"

	"github.com/loralab/loralab/pkg/mask"
)

// FromMask converts masking-strategy examples to training examples. mask numbers turns from 0
// with −1 for unsupervised tokens; Example.Turns numbers them from 1 with 0 for none (turn 1 is
// the first assistant reply).
func FromMask(exs []mask.Example) []Example {
	out := make([]Example, len(exs))
	for i, e := range exs {
		ex := Example{InputIDs: e.InputIDs, Labels: e.Labels}
		if e.Turn != nil {
			ex.Turns = make([]int32, len(e.Turn))
			for j, t := range e.Turn {
				ex.Turns[j] = max(t+1, 0)
			}
		}
		out[i] = ex
	}
	return out
}

// PackedBatches groups packed rows (mask.Pack) into batches of rowsPerBatch rows, with their
// position and segment ids. examples are the examples given to Pack: their turn indices are
// laid out along the rows. The label of each segment's first token is set to IgnoreIndex (as
// HF's DataCollatorWithFlattening does), so that no sequence learns to predict the next one.
func PackedBatches(rows []mask.PackedRow, examples []mask.Example, rowsPerBatch int) ([]Batch, error) {
	if rowsPerBatch <= 0 {
		return nil, fmt.Errorf("train: PackedBatches: rows per batch %d must be > 0", rowsPerBatch)
	}
	var out []Batch
	for start := 0; start < len(rows); start += rowsPerBatch {
		var b Batch
		for ri := start; ri < min(start+rowsPerBatch, len(rows)); ri++ {
			r := rows[ri]
			labels := append([]int32(nil), r.Labels...)
			turns := make([]int32, len(r.InputIDs))
			pos := 0
			for _, ei := range r.Examples {
				if ei < 0 || ei >= len(examples) {
					return nil, fmt.Errorf("train: PackedBatches: row %d names example %d of %d", ri, ei, len(examples))
				}
				ex := examples[ei]
				if pos+ex.Len() > len(turns) {
					return nil, fmt.Errorf("train: PackedBatches: row %d: examples overflow the row of %d tokens", ri, len(turns))
				}
				labels[pos] = IgnoreIndex
				for j, t := range ex.Turn {
					turns[pos+j] = max(t+1, 0)
				}
				pos += ex.Len()
			}
			b.InputIDs = append(b.InputIDs, r.InputIDs)
			b.Labels = append(b.Labels, labels)
			b.PositionIDs = append(b.PositionIDs, r.PositionIDs)
			b.SegmentIDs = append(b.SegmentIDs, r.SegmentIDs)
			b.Turns = append(b.Turns, turns)
		}
		if err := b.Validate(); err != nil {
			return nil, fmt.Errorf("train: PackedBatches: batch %d: %w", len(out), err)
		}
		out = append(out, b)
	}
	return out, nil
}
