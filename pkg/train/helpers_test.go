package train

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"
)

// poisonModel is ToyLM with NaN logits at every position whose input id is 15.
func poisonModel() Model {
	m := ToyLM(ToyLMConfig{Vocab: toyVocab, Dim: toyDim, Seed: 1})
	inner := m.Logits
	m.Logits = func(in *Inputs) *Node {
		logits := inner(in)
		g := logits.Graph()
		bad := Equal(ConvertDType(in.InputIDs, dtypes.Int32), Scalar(g, dtypes.Int32, 15))
		bad = BroadcastToShape(InsertAxes(bad, -1), shapes.Make(dtypes.Bool, logits.Shape().Dimensions...))
		return Where(bad, AddScalar(logits, math.NaN()), logits)
	}
	return m
}

func f32(x *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](x) }
