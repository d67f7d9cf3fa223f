package train

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/mask"
)

// hostMetrics computes loss and accuracy per turn (key -1: all tokens) in float64 from logits.
func hostMetrics(logits []float32, b mask.Batch, V int) (nll, correct, n map[int]float64) {
	nll, correct, n = map[int]float64{}, map[int]float64{}, map[int]float64{}
	B, T := b.Dims()
	for r := 0; r < B; r++ {
		for t := 0; t+1 < T; t++ {
			label := b.Labels[r][t+1]
			if label == mask.IgnoreIndex {
				continue
			}
			row := logits[(r*T+t)*V : (r*T+t+1)*V]
			mx, arg := math.Inf(-1), 0
			for j, x := range row {
				if float64(x) > mx {
					mx, arg = float64(x), j
				}
			}
			var s float64
			for _, x := range row {
				s += math.Exp(float64(x) - mx)
			}
			l := math.Log(s) + mx - float64(row[label])
			c := 0.0
			if arg == int(label) {
				c = 1
			}
			keys := []int{-1}
			if k := int(b.Turn[r][t+1]); k >= 0 {
				keys = append(keys, k)
			}
			for _, k := range keys {
				nll[k] += l
				correct[k] += c
				n[k]++
			}
		}
	}
	return
}

func TestEvaluateMatchesHostComputation(t *testing.T) {
	tr := newToyTrainer(t, toyArgs(), 0)
	batch, err := mask.PadBatch(ToyExamples(6, toyVocab, 9), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.EvaluateLoader(&BatchLoader{Batches: []mask.Batch{batch}})
	if err != nil {
		t.Fatal(err)
	}
	model := tr.Model
	e := MustNewExec(tr.Backend, func(params []*Node) *Node {
		in := &Inputs{Trainable: map[string]*Node{}, Frozen: map[string]*Node{}}
		names := sortedNames(model.Trainable)
		for i, n := range names {
			in.Trainable[n] = params[i]
		}
		in.Frozen["lm_head.bias"] = params[len(names)]
		in.InputIDs = params[len(names)+1]
		return model.Logits(in)
	})
	var args []any
	for _, n := range sortedNames(model.Trainable) {
		args = append(args, model.Trainable[n])
	}
	var bt stepIO[any]
	if err := setBatch(&bt, batch); err != nil {
		t.Fatal(err)
	}
	args = append(args, model.Frozen["lm_head.bias"], bt.InputIDs)
	logits := tensors.MustCopyFlatData[float32](e.MustCall(args...)[0])
	nll, correct, n := hostMetrics(logits, batch, toyVocab)

	if res.Tokens != batch.SupervisedTokens() || float64(res.Tokens) != n[-1] {
		t.Fatalf("tokens %d, batch has %d supervised, host counted %v", res.Tokens, batch.SupervisedTokens(), n[-1])
	}
	close := func(what string, got, want float64) {
		if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	close("loss", res.Loss, nll[-1]/n[-1])
	close("perplexity", res.Perplexity, math.Exp(nll[-1]/n[-1]))
	close("accuracy", res.Accuracy, correct[-1]/n[-1])
	if len(res.PerTurn) != 2 {
		t.Fatalf("per-turn metrics for %d turns, want 2: %+v", len(res.PerTurn), res.PerTurn)
	}
	var sum int
	for _, tm := range res.PerTurn {
		k := tm.Turn
		if float64(tm.Tokens) != n[k] {
			t.Errorf("turn %d: %d tokens, host %v", k, tm.Tokens, n[k])
		}
		close("turn loss", tm.Loss, nll[k]/n[k])
		close("turn accuracy", tm.Accuracy, correct[k]/n[k])
		sum += tm.Tokens
	}
	if sum != res.Tokens {
		t.Errorf("turn tokens add up to %d, total %d", sum, res.Tokens)
	}
}

// Packing (several examples per row, with position and segment ids) evaluates exactly like
// padding each example on its own row, per turn too.
func TestPackedEqualsPadded(t *testing.T) {
	tr := newToyTrainer(t, toyArgs(), 0)
	mexs := ToyExamples(10, toyVocab, 4)
	rows, _, err := mask.Pack(mexs, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := mask.PackedBatches(rows, mexs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) >= len(mexs) {
		t.Fatalf("packing made %d rows of %d examples", len(rows), len(mexs))
	}
	padded := &ExampleLoader{Examples: mexs, BatchSize: 3}
	a, err := tr.EvaluateLoader(&BatchLoader{Batches: packed})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.EvaluateLoader(padded)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tokens != b.Tokens || math.Abs(a.Loss-b.Loss) > 1e-5 || a.Accuracy != b.Accuracy || len(a.PerTurn) != len(b.PerTurn) {
		t.Errorf("packed %+v\npadded %+v", a, b)
	}
	// And a packed training step runs.
	args := toyArgs()
	args.MaxSteps = 2
	tr2, err := New(testBackend(t), tr.Model, args, &BatchLoader{Batches: packed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Train(); err != nil {
		t.Fatal(err)
	}
}
