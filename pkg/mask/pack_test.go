package mask

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func randomExamples(n, maxLen int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	exs := make([]Example, n)
	for i := range exs {
		l := 1 + rng.IntN(maxLen)
		ex := Example{InputIDs: make([]int32, l), Labels: make([]int32, l), Turn: make([]int32, l)}
		for j := range l {
			ex.InputIDs[j] = int32(10000*i + j) // unique per (example, position)
			ex.Labels[j] = IgnoreIndex
			if rng.IntN(2) == 0 {
				ex.Labels[j] = ex.InputIDs[j]
			}
		}
		exs[i] = ex
	}
	return exs
}

// attentionMask is the block-diagonal causal mask of a packed row (the reference of what the
// forward pass builds from segment ids): m[i][j] is true when token i may attend to token j,
// that is j <= i within the same segment; a padding token (segment 0) attends only to itself.
func attentionMask(segmentIDs []int32) [][]bool {
	n := len(segmentIDs)
	m := make([][]bool, n)
	for i := range m {
		m[i] = make([]bool, n)
		if segmentIDs[i] == 0 {
			m[i][i] = true
			continue
		}
		for j := 0; j <= i; j++ {
			m[i][j] = segmentIDs[j] == segmentIDs[i]
		}
	}
	return m
}

// TestPackNoCrossAttention proves that, under attentionMask, every token of a packed row sees
// exactly the prefix of its own conversation: nothing from another one.
func TestPackNoCrossAttention(t *testing.T) {
	exs := randomExamples(200, 60, 7)
	const rowLen = 128
	rows, st, err := Pack(exs, rowLen, -1)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, len(exs))
	for ri, r := range rows {
		if len(r.InputIDs) != rowLen || len(r.Labels) != rowLen || len(r.PositionIDs) != rowLen || len(r.SegmentIDs) != rowLen {
			t.Fatalf("row %d: lengths %d %d %d %d", ri, len(r.InputIDs), len(r.Labels), len(r.PositionIDs), len(r.SegmentIDs))
		}
		// owner[i] = example index of token i, -1 for padding
		owner := make([]int, rowLen)
		for i := range owner {
			owner[i] = -1
			if s := r.SegmentIDs[i]; s > 0 {
				owner[i] = r.Examples[s-1]
			}
		}
		m := attentionMask(r.SegmentIDs)
		for i := range rowLen {
			if owner[i] < 0 {
				if r.Labels[i] != IgnoreIndex || r.InputIDs[i] != -1 {
					t.Fatalf("row %d pos %d: padding with label %d id %d", ri, i, r.Labels[i], r.InputIDs[i])
				}
				continue
			}
			ex := exs[owner[i]]
			p := int(r.PositionIDs[i])
			if r.InputIDs[i] != ex.InputIDs[p] || r.Labels[i] != ex.Labels[p] {
				t.Fatalf("row %d pos %d: token does not match example %d position %d", ri, i, owner[i], p)
			}
			// The attended tokens must be exactly ex.InputIDs[0..p].
			var attended []int32
			for j := range rowLen {
				if m[i][j] {
					if owner[j] != owner[i] {
						t.Fatalf("row %d: token %d (example %d) attends to token %d (example %d)", ri, i, owner[i], j, owner[j])
					}
					attended = append(attended, r.InputIDs[j])
				}
			}
			if !reflect.DeepEqual(attended, ex.InputIDs[:p+1]) {
				t.Fatalf("row %d pos %d: attends to %v, want the prefix %v", ri, i, attended, ex.InputIDs[:p+1])
			}
			if p == 0 {
				seen[owner[i]]++
			}
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("example %d packed %d times", i, c)
		}
	}
	total := 0
	for _, ex := range exs {
		total += ex.Len()
	}
	if st.Tokens != total || st.Rows != len(rows) || st.Tokens+st.PaddingTokens != len(rows)*rowLen {
		t.Errorf("stats %+v: tokens want %d, rows %d", st, total, len(rows))
	}
	// Best-fit decreasing is near the lower bound on this data.
	lower := (total + rowLen - 1) / rowLen
	if len(rows) > lower+1 {
		t.Errorf("packed into %d rows, lower bound %d", len(rows), lower)
	}
	t.Logf("packing: %d examples, %d rows of %d, padding fraction %.4f", len(exs), len(rows), rowLen, st.PaddingFraction())
}

func TestPackErrors(t *testing.T) {
	if _, _, err := Pack(randomExamples(3, 10, 1), 0, 0); err == nil {
		t.Error("row length 0 accepted")
	}
	if _, _, err := Pack([]Example{{InputIDs: make([]int32, 9), Labels: make([]int32, 9)}}, 8, 0); err == nil {
		t.Error("example longer than the row accepted")
	}
}

func TestPadBatches(t *testing.T) {
	exs := randomExamples(1000, 200, 3)
	random, rs, err := PadBatches(exs, BatchOptions{BatchSize: 8, PadID: -1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	grouped, gs, err := PadBatches(exs, BatchOptions{BatchSize: 8, PadID: -1, Seed: 1, GroupByLength: true})
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := PadBatches(exs, BatchOptions{BatchSize: 8, PadID: -1, Seed: 1, GroupByLength: true})
	if !reflect.DeepEqual(grouped, again) {
		t.Error("same seed gave different batches")
	}
	for name, bs := range map[string][]Batch{"random": random, "grouped": grouped} {
		count := 0
		for bi, b := range bs {
			for r := range b.InputIDs {
				ex := exs[b.Examples[r]]
				count++
				if len(b.InputIDs[r]) != len(b.InputIDs[0]) || len(b.Labels[r]) != len(b.InputIDs[r]) || len(b.Turn[r]) != len(b.InputIDs[r]) {
					t.Fatalf("%s batch %d row %d: ragged", name, bi, r)
				}
				if !reflect.DeepEqual(b.InputIDs[r][:ex.Len()], ex.InputIDs) || !reflect.DeepEqual(b.Labels[r][:ex.Len()], ex.Labels) {
					t.Fatalf("%s batch %d row %d: content differs from example", name, bi, r)
				}
				for j := ex.Len(); j < len(b.InputIDs[r]); j++ {
					if b.Turn[r][j] != -1 || b.Labels[r][j] != IgnoreIndex || b.InputIDs[r][j] != -1 {
						t.Fatalf("%s batch %d row %d: bad padding at %d", name, bi, r, j)
					}
				}
			}
		}
		if count != len(exs) {
			t.Errorf("%s: %d rows for %d examples", name, count, len(exs))
		}
	}
	if gs.PaddingFraction() >= rs.PaddingFraction()/2 {
		t.Errorf("length grouping padding %.3f is not well below random %.3f", gs.PaddingFraction(), rs.PaddingFraction())
	}
	t.Logf("padding fraction: random batches %.4f, length-grouped %.4f", rs.PaddingFraction(), gs.PaddingFraction())
}
