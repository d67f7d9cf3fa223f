package mask

import (
	"fmt"
	"sort"
)

// PackedRow is one fixed-length row holding several examples back to back.
//
// PositionIDs restart at 0 for every example, and SegmentIDs number the examples of the row
// 1, 2, 3, … (0 marks padding), so that attention can be made block-diagonal and causal:
// token i may attend to token j only if j <= i and SegmentIDs[i] == SegmentIDs[j] != 0 (the
// llama forward pass builds that mask from segment ids). With that mask a packed row computes
// exactly what the examples would compute one by one. PackedBatches turns rows into Batches.
type PackedRow struct {
	InputIDs    []int32
	Labels      []int32
	PositionIDs []int32
	SegmentIDs  []int32
	// Examples lists the indices (into Pack's input) of the examples in this row, in order.
	Examples []int
}

// PadStats describes the padding of a packing or batching.
type PadStats struct {
	Rows          int // packed rows (Pack) or batches (PadBatches)
	Tokens        int // real tokens
	PaddingTokens int
}

// PaddingFraction is PaddingTokens / (Tokens + PaddingTokens), 0 when empty.
func (s PadStats) PaddingFraction() float64 {
	if s.Tokens+s.PaddingTokens == 0 {
		return 0
	}
	return float64(s.PaddingTokens) / float64(s.Tokens+s.PaddingTokens)
}

// Pack puts examples into rows of rowLen tokens by best-fit decreasing: examples are taken
// longest first and each goes into the open row with the least room that still fits it (a new
// row when none does). Rows are padded with padID (labels IgnoreIndex, segment 0, position 0).
// An example longer than rowLen is an error: truncate first (Options.MaxLength).
func Pack(examples []Example, rowLen int, padID int32) ([]PackedRow, PadStats, error) {
	if rowLen <= 0 {
		return nil, PadStats{}, fmt.Errorf("mask: pack: row length %d must be positive", rowLen)
	}
	order := make([]int, 0, len(examples))
	for i, ex := range examples {
		if ex.Len() > rowLen {
			return nil, PadStats{}, fmt.Errorf("mask: pack: example %d has %d tokens, more than the row length %d", i, ex.Len(), rowLen)
		}
		if len(ex.Labels) != ex.Len() {
			return nil, PadStats{}, fmt.Errorf("mask: pack: example %d has %d labels for %d tokens", i, len(ex.Labels), ex.Len())
		}
		if ex.Len() > 0 {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return examples[order[a]].Len() > examples[order[b]].Len() })

	// byRoom[r] holds the rows with exactly r free tokens (r < rowLen).
	byRoom := make([][]int, rowLen+1)
	var members [][]int
	var room []int
	for _, ei := range order {
		n := examples[ei].Len()
		row := -1
		for r := n; r < rowLen; r++ {
			if k := len(byRoom[r]); k > 0 {
				row = byRoom[r][k-1]
				byRoom[r] = byRoom[r][:k-1]
				break
			}
		}
		if row < 0 {
			row = len(members)
			members = append(members, nil)
			room = append(room, rowLen)
		}
		members[row] = append(members[row], ei)
		room[row] -= n
		byRoom[room[row]] = append(byRoom[room[row]], row)
	}

	rows := make([]PackedRow, len(members))
	var st PadStats
	for ri, ms := range members {
		r := PackedRow{
			InputIDs:    make([]int32, 0, rowLen),
			Labels:      make([]int32, 0, rowLen),
			PositionIDs: make([]int32, 0, rowLen),
			SegmentIDs:  make([]int32, 0, rowLen),
			Examples:    ms,
		}
		for si, ei := range ms {
			ex := examples[ei]
			r.InputIDs = append(r.InputIDs, ex.InputIDs...)
			r.Labels = append(r.Labels, ex.Labels...)
			for p := range ex.InputIDs {
				r.PositionIDs = append(r.PositionIDs, int32(p))
				r.SegmentIDs = append(r.SegmentIDs, int32(si+1))
			}
		}
		st.Tokens += len(r.InputIDs)
		st.PaddingTokens += rowLen - len(r.InputIDs)
		for len(r.InputIDs) < rowLen {
			r.InputIDs = append(r.InputIDs, padID)
			r.Labels = append(r.Labels, IgnoreIndex)
			r.PositionIDs = append(r.PositionIDs, 0)
			r.SegmentIDs = append(r.SegmentIDs, 0)
		}
		rows[ri] = r
	}
	st.Rows = len(rows)
	return rows, st, nil
}
