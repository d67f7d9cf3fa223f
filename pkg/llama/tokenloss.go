package llama

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/mask"
)

// TokenLosses runs the forward pass on a batch (padded or packed: its position and segment
// ids are used when present) and returns the loss of every label token, aligned with the
// labels: out[b][t] = −log p(labels[b][t] | the tokens before t that it may attend to), the
// negative log-likelihood that position t−1's logits give the label (the HF shift, the one
// cross entropy TokenNLL). It is 0 where labels[b][t] is mask.IgnoreIndex and at t = 0 (nothing
// predicts a row's first token). Summed, the losses of a batch are CausalLMLoss's sum.
func (r *Runner) TokenLosses(b mask.Batch) ([][]float32, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("TokenLosses: %w", err)
	}
	B, T := b.Dims()
	vocab := r.Model.Config.VocabSize
	ids, err := matrixInt32("input_ids", b.InputIDs, B, T, vocab)
	if err != nil {
		return nil, fmt.Errorf("TokenLosses: %w", err)
	}
	for i, row := range b.Labels {
		for t, l := range row {
			if l != mask.IgnoreIndex && (l < 0 || int(l) >= vocab) {
				return nil, fmt.Errorf("TokenLosses: labels row %d position %d: %d is neither IgnoreIndex nor in [0, %d)", i, t, l, vocab)
			}
		}
	}
	labels, _ := matrixInt32("labels", b.Labels, B, T, 0)
	pos, seg := b.PositionIDs, b.SegmentIDs
	if pos == nil { // one example per row: positions 0…T−1, one segment
		pos, seg = make([][]int32, B), make([][]int32, B)
		for i := range pos {
			pos[i], seg[i] = make([]int32, T), make([]int32, T)
			for t := range pos[i] {
				pos[i][t] = int32(t)
			}
		}
	}
	posT, _ := matrixInt32("position_ids", pos, B, T, 0)
	segT, _ := matrixInt32("segment_ids", seg, B, T, 0)
	if r.losses == nil {
		nw, cfg := len(r.names), r.Model.Config
		r.losses, err = NewExec(r.Backend, func(in []*Node) *Node {
			w, ad := r.bind(in[:nw])
			logits, targets := FlatShifted(Forward(cfg, w, ad, in[nw], in[nw+1], in[nw+2]), in[nw+3])
			nll, _ := TokenNLL(logits, targets)
			return nll
		})
		if err != nil {
			return nil, err
		}
		r.losses.SetMaxCache(-1)
	}
	out, err := r.losses.Exec1(r.args(ids, posT, segT, labels)...)
	if err != nil {
		return nil, fmt.Errorf("TokenLosses: %w", err)
	}
	flat := tensors.MustCopyFlatData[float32](out) // [B·T]: position t's loss of labels[t+1]
	res := make([][]float32, B)
	for i := range res {
		res[i] = make([]float32, T)
		copy(res[i][1:], flat[i*T:(i+1)*T-1])
	}
	return res, nil
}
