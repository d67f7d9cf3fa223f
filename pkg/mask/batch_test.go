package mask

import (
	"reflect"
	"strings"
	"testing"
)

func TestPadBatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		exs      []Example
		multiple int
		wantT    int
		wantErr  string
	}{
		{"longest", []Example{{InputIDs: []int32{1, 2, 3}, Labels: []int32{-100, 2, 3}}, {InputIDs: []int32{4}, Labels: []int32{4}}}, 0, 3, ""},
		{"multiple", []Example{{InputIDs: []int32{1, 2, 3}, Labels: []int32{-100, 2, 3}}}, 8, 8, ""},
		{"labels length", []Example{{InputIDs: []int32{1, 2}, Labels: []int32{1}}}, 0, 0, "example 0 has 1 labels"},
		{"turns length", []Example{{InputIDs: []int32{1, 2}, Labels: []int32{1, 2}, Turn: []int32{1}}}, 0, 0, "turn indices"},
		{"empty example", []Example{{}}, 0, 0, "is empty"},
		{"no examples", nil, 0, 0, "no examples"},
	} {
		b, err := PadBatch(tc.exs, 7, tc.multiple)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, T := b.Dims(); T != tc.wantT {
			t.Errorf("%s: T = %d, want %d", tc.name, T, tc.wantT)
		}
		if err := b.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		last := len(b.InputIDs) - 1
		if n := len(tc.exs[last].InputIDs); n < tc.wantT && (b.InputIDs[last][n] != 7 || b.Labels[last][n] != IgnoreIndex) {
			t.Errorf("%s: padding %v / %v", tc.name, b.InputIDs[last], b.Labels[last])
		}
	}
	b, _ := PadBatch([]Example{{InputIDs: []int32{1, 2, 3}, Labels: []int32{1, -100, 3}, Turn: []int32{0, -1, 1}},
		{InputIDs: []int32{4}, Labels: []int32{4}}}, 0, 0)
	if got := b.SupervisedTokens(); got != 1 { // the first label is never predicted
		t.Errorf("SupervisedTokens = %d, want 1", got)
	}
	if want := [][]int32{{0, -1, 1}, {-1, -1, -1}}; !reflect.DeepEqual(b.Turn, want) {
		t.Errorf("turns %v, want %v (-1 where an example has none and for padding)", b.Turn, want)
	}
}

func TestPermutation(t *testing.T) {
	o0 := Permutation(10, 3, 0)
	seen := map[int]int{}
	for _, i := range o0 {
		seen[i]++
	}
	if len(seen) != 10 {
		t.Errorf("not a permutation: %v", o0)
	}
	if reflect.DeepEqual(o0, Permutation(10, 3, 1)) {
		t.Errorf("epochs 0 and 1 have the same order")
	}
	if !reflect.DeepEqual(o0, Permutation(10, 3, 0)) {
		t.Errorf("order not reproducible")
	}
}

// TestPackedBatches: each example's first label is masked (no example learns to predict the
// next one), turns are laid out along the rows, and the rest of the row is the packed row.
func TestPackedBatches(t *testing.T) {
	exs := []Example{
		{InputIDs: []int32{1, 2, 3}, Labels: []int32{1, 2, 3}, Turn: []int32{0, 0, 1}},
		{InputIDs: []int32{4, 5}, Labels: []int32{4, 5}, Turn: []int32{0, 0}},
		{InputIDs: []int32{6, 7, 8, 9}, Labels: []int32{-100, 7, 8, 9}},
	}
	rows, _, err := Pack(exs, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := PackedBatches(rows, exs, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != len(rows) || len(rows) != 2 {
		t.Fatalf("%d batches of %d rows, want 2", len(bs), len(rows))
	}
	// Best-fit decreasing: [6 7 8 9 pad], then [1 2 3 4 5].
	want := []Batch{
		{InputIDs: [][]int32{{6, 7, 8, 9, 0}}, Labels: [][]int32{{-100, 7, 8, 9, -100}}, Turn: [][]int32{{-1, -1, -1, -1, -1}},
			PositionIDs: [][]int32{{0, 1, 2, 3, 0}}, SegmentIDs: [][]int32{{1, 1, 1, 1, 0}}},
		{InputIDs: [][]int32{{1, 2, 3, 4, 5}}, Labels: [][]int32{{-100, 2, 3, -100, 5}}, Turn: [][]int32{{0, 0, 1, 0, 0}},
			PositionIDs: [][]int32{{0, 1, 2, 0, 1}}, SegmentIDs: [][]int32{{1, 1, 1, 2, 2}}},
	}
	if !reflect.DeepEqual(bs, want) {
		t.Errorf("got  %+v\nwant %+v", bs, want)
	}
	if _, err := PackedBatches(rows, exs[:1], 1); err == nil {
		t.Error("rows naming missing examples accepted")
	}
}
