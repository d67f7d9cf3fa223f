package train

import (
	"reflect"
	"testing"

	"github.com/loralab/loralab/pkg/mask"
)

func TestExampleLoaderOrder(t *testing.T) {
	exs := ToyExamples(10, 16, 1)
	l := &ExampleLoader{Examples: exs, BatchSize: 4, Shuffle: true, Seed: 3}
	if l.NumBatches() != 3 {
		t.Fatalf("NumBatches = %d, want 3", l.NumBatches())
	}
	seen := map[int]int{}
	for _, i := range l.Order(0) {
		seen[i]++
	}
	if len(seen) != 10 {
		t.Errorf("epoch order is not a permutation: %v", l.Order(0))
	}
	o0 := append([]int(nil), l.Order(0)...)
	o1 := append([]int(nil), l.Order(1)...)
	if reflect.DeepEqual(o0, o1) {
		t.Errorf("epochs 0 and 1 have the same order")
	}
	if !reflect.DeepEqual(o0, (&ExampleLoader{Examples: exs, BatchSize: 4, Shuffle: true, Seed: 3}).Order(0)) {
		t.Errorf("order not reproducible")
	}
	last, err := l.Batch(1, 2)
	if err != nil || len(last.InputIDs) != 2 {
		t.Errorf("last batch: %d rows, %v", len(last.InputIDs), err)
	}
	if _, err := l.Batch(0, 3); err == nil {
		t.Errorf("batch 3 of 3 succeeded")
	}
}

func TestStepsAndWindows(t *testing.T) {
	for _, tc := range []struct {
		batches, acc, maxSteps int
		epochs                 float64
		wantPerEpoch, wantAll  int
	}{
		{8, 1, -1, 3, 8, 24},
		{8, 3, -1, 1, 3, 3}, // windows of 3, 3, 2 micro-batches
		{8, 2, -1, 1.5, 4, 6},
		{8, 2, 5, 3, 4, 5},
	} {
		a := DefaultArgs()
		a.GradientAccumulationSteps, a.MaxSteps, a.NumTrainEpochs = tc.acc, tc.maxSteps, tc.epochs
		if got := a.StepsPerEpoch(tc.batches); got != tc.wantPerEpoch {
			t.Errorf("%+v: StepsPerEpoch = %d, want %d", tc, got, tc.wantPerEpoch)
		}
		if got := a.TotalSteps(tc.batches); got != tc.wantAll {
			t.Errorf("%+v: TotalSteps = %d, want %d", tc, got, tc.wantAll)
		}
	}
	tr := &Trainer{Args: DefaultArgs(), TrainData: &BatchLoader{Batches: make([]mask.Batch, 8)}}
	tr.Args.GradientAccumulationSteps = 3
	for s, want := range map[int][2]any{0: {0, []int{0, 1, 2}}, 2: {0, []int{6, 7}}, 3: {1, []int{0, 1, 2}}} {
		e, idx := tr.window(s)
		if e != want[0] || !reflect.DeepEqual(idx, want[1]) {
			t.Errorf("window(%d) = %d %v, want %v", s, e, idx, want)
		}
	}
	for s, want := range map[int]DataPosition{0: {}, 1: {0, 3}, 3: {1, 0}, 4: {1, 3}} {
		if got := tr.dataPosition(s); got != want {
			t.Errorf("dataPosition(%d) = %+v, want %+v", s, got, want)
		}
	}
}
