package train

import (
	"fmt"
	"math"
	"sort"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/mask"
)

// EvalResult holds evaluation metrics over the supervised tokens of an eval set.
type EvalResult struct {
	Step       int     `json:"step"`
	Loss       float64 `json:"eval_loss"`       // mean token cross entropy
	Perplexity float64 `json:"eval_perplexity"` // exp(Loss)
	Accuracy   float64 `json:"eval_accuracy"`   // share of tokens whose arg-max prediction is the label
	Tokens     int     `json:"eval_tokens"`     // supervised tokens
	// PerTurn has the same metrics per turn (0, 1, …: the 0-based numbering of
	// mask.Example.Turn), when the batches carry Turn; a token's turn is that of its label.
	PerTurn []TurnMetrics `json:"per_turn,omitempty"`
}

// TurnMetrics are the metrics of the tokens of one assistant turn index.
type TurnMetrics struct {
	Turn       int     `json:"turn"`
	Loss       float64 `json:"loss"`
	Perplexity float64 `json:"perplexity"`
	Accuracy   float64 `json:"accuracy"`
	Tokens     int     `json:"tokens"`
}

// Evaluate evaluates the current parameters on EvalData (every batch of epoch 0) and appends
// the result to the eval history.
func (t *Trainer) Evaluate() (EvalResult, error) {
	if t.EvalData == nil {
		return EvalResult{}, fmt.Errorf("train.Evaluate: no eval data")
	}
	res, err := t.EvaluateLoader(t.EvalData)
	if err != nil {
		return res, err
	}
	t.evals = append(t.evals, res)
	for _, h := range t.hooks {
		if h.OnEval != nil {
			h.OnEval(t, res)
		}
	}
	return res, nil
}

// EvaluateLoader evaluates the current parameters on every batch of epoch 0 of l, without
// recording the result.
func (t *Trainer) EvaluateLoader(l Loader) (EvalResult, error) {
	var acc evalAcc
	for i := 0; i < l.NumBatches(); i++ {
		b, err := l.Batch(0, i)
		if err != nil {
			return EvalResult{}, fmt.Errorf("train: eval batch %d: %w", i, err)
		}
		if err := t.evalBatch(b, &acc); err != nil {
			return EvalResult{}, fmt.Errorf("train: eval batch %d: %w", i, err)
		}
	}
	res := acc.result()
	res.Step = t.step
	return res, nil
}

// evalAcc accumulates sums in float64: key -1 for all tokens, then per turn (0, 1, …).
type evalAcc struct {
	nll, correct, n map[int]float64
}

func (a *evalAcc) add(turn int, nll, correct float64) {
	if a.n == nil {
		a.nll, a.correct, a.n = map[int]float64{}, map[int]float64{}, map[int]float64{}
	}
	a.nll[turn] += nll
	a.correct[turn] += correct
	a.n[turn]++
}

func (a *evalAcc) result() EvalResult {
	metrics := func(k int) (loss, ppl, accuracy float64, n int) {
		if a.n[k] == 0 {
			return math.NaN(), math.NaN(), math.NaN(), 0
		}
		loss = a.nll[k] / a.n[k]
		return loss, math.Exp(loss), a.correct[k] / a.n[k], int(a.n[k])
	}
	var r EvalResult
	r.Loss, r.Perplexity, r.Accuracy, r.Tokens = metrics(-1)
	var turns []int
	for k := range a.n {
		if k >= 0 {
			turns = append(turns, k)
		}
	}
	sort.Ints(turns)
	for _, k := range turns {
		tm := TurnMetrics{Turn: k}
		tm.Loss, tm.Perplexity, tm.Accuracy, tm.Tokens = metrics(k)
		r.PerTurn = append(r.PerTurn, tm)
	}
	return r
}

func (t *Trainer) evalBatch(b mask.Batch, acc *evalAcc) error {
	in := stepIO[any]{Params: anys(t.params), Frozen: anys(t.frozen)}
	if err := setBatch(&in, b); err != nil {
		return err
	}
	out, err := t.st.call(stepKind{eval: true, packed: b.PositionIDs != nil}, in)
	if err != nil {
		return err
	}
	nll, err1 := tensors.CopyFlatData[float32](out.NLL)
	valid, err2 := tensors.CopyFlatData[float32](out.Valid)
	correct, err3 := tensors.CopyFlatData[float32](out.Correct)
	if err1 != nil || err2 != nil || err3 != nil {
		return fmt.Errorf("reading eval outputs: %v %v %v", err1, err2, err3)
	}
	B, T := b.Dims()
	for r := 0; r < B; r++ {
		for c := 0; c+1 < T; c++ {
			i := r*T + c
			if valid[i] == 0 {
				continue
			}
			acc.add(-1, float64(nll[i]), float64(correct[i]))
			if b.Turn != nil && b.Turn[r][c+1] >= 0 {
				acc.add(int(b.Turn[r][c+1]), float64(nll[i]), float64(correct[i]))
			}
		}
	}
	return nil
}
