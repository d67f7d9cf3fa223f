package train

import (
	"reflect"
	"testing"
)

// TestStepIOLayout: for every graph kind, unflatten(flatten(x)) gives x back with each value in
// its named field, and a value list of the wrong length is an error.
func TestStepIOLayout(t *testing.T) {
	const n, f = 3, 2
	for _, k := range []stepKind{{}, {hasAcc: true}, {final: true}, {hasAcc: true, final: true, packed: true},
		{final: true, rows: true}, {hasAcc: true, packed: true, rows: true}, {eval: true}, {eval: true, packed: true}} {
		for _, input := range []bool{true, false} {
			var s stepIO[int]
			count := 0
			for _, sl := range s.slots(k, input, n, f) {
				if sl.many != nil {
					count += sl.n
				} else {
					count++
				}
			}
			xs := make([]int, count)
			for i := range xs {
				xs[i] = 100 + i
			}
			got, err := unflatten(k, input, n, f, xs)
			if err != nil {
				t.Fatalf("%+v input=%v: %v", k, input, err)
			}
			back, err := got.flatten(k, input, n, f)
			if err != nil || !reflect.DeepEqual(back, xs) {
				t.Errorf("%+v input=%v: round trip %v, %v; want %v", k, input, back, err, xs)
			}
			if _, err := unflatten(k, input, n, f, xs[:len(xs)-1]); err == nil {
				t.Errorf("%+v input=%v: one value short accepted", k, input)
			}
			if _, err := unflatten(k, input, n, f, append(xs, 0)); err == nil {
				t.Errorf("%+v input=%v: one value too many accepted", k, input)
			}
		}
	}
	// Named fields land where the graph expects them: inputs of the final accumulating graph.
	in, _ := unflatten(stepKind{hasAcc: true, final: true}, true, 1, 1, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	want := stepIO[int]{Params: []int{1}, Frozen: []int{2}, Acc: []int{3}, AccSum: 4, AccCount: 5, M: []int{6}, V: []int{7},
		Step: 8, LR: 9, RNG: 10, InputIDs: 11, Labels: 12}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("final inputs %+v, want %+v", in, want)
	}
	// The loss rows come last, after a packed batch's position and segment ids.
	in, _ = unflatten(stepKind{packed: true, rows: true}, true, 1, 1, []int{1, 2, 3, 4, 5, 6, 7, 8})
	want = stepIO[int]{Params: []int{1}, Frozen: []int{2}, RNG: 3, InputIDs: 4, Labels: 5, PositionIDs: 6, SegmentIDs: 7, LossRows: 8}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("packed inputs with loss rows %+v, want %+v", in, want)
	}
}
