package datasets

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
	"github.com/loralab/loralab/pkg/llama"
)

// The committed tiny base model loads, knows its corpus (low loss on validation dialogues it
// never saw) and answers an in-domain prompt with a reply that ends its turn.
func TestTinyBase(t *testing.T) {
	tb, err := LoadTinyBase()
	if err != nil {
		t.Fatal(err)
	}
	if tb.Tokenizer.VocabSize() != tb.Model.Config.VocabSize {
		t.Fatalf("tokenizer has %d ids, model %d", tb.Tokenizer.VocabSize(), tb.Model.Config.VocabSize)
	}
	end, ok := tb.Tokenizer.TokenID(chat.TinyEnd)
	if !ok || end != tb.Model.Config.EOSTokenID[0] {
		t.Fatalf("eos_token_id %v, %s is id %d", tb.Model.Config.EOSTokenID, chat.TinyEnd, end)
	}
	r, err := llama.NewRunner(backend.MustDefault(), tb.Model, nil)
	if err != nil {
		t.Fatal(err)
	}

	path, err := Path(Pretrain, Validation)
	if err != nil {
		t.Fatal(err)
	}
	convs, err := data.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	var encoded [][]int
	n := 48 // tokens per row: the shortest of the first dialogues, at most 48
	for _, c := range convs[:4] {
		x, err := tb.Encode(c, false)
		if err != nil {
			t.Fatal(err)
		}
		encoded = append(encoded, x)
		n = min(n, len(x))
	}
	ids, pos := make([][]int32, len(encoded)), make([][]int32, len(encoded))
	for b, x := range encoded {
		for i := range n {
			ids[b], pos[b] = append(ids[b], int32(x[i])), append(pos[b], int32(i))
		}
	}
	logits, err := r.Logits(ids, pos, nil)
	if err != nil {
		t.Fatal(err)
	}
	if nll := meanNLL(t, logits.Value().([][][]float32), ids); nll > 1.5 {
		t.Errorf("mean next-token loss on validation dialogues = %.3f, want < 1.5 (the card reports ~0.63)", nll)
	}

	prompt, err := tb.Encode(chat.Conversation{Messages: []chat.Message{{Role: chat.RoleUser, Content: "What colour is the sky?"}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	g, err := r.Generate(prompt, llama.GenerateOptions{MaxNewTokens: 40, Decode: tb.Tokenizer.Decode})
	if err != nil {
		t.Fatal(err)
	}
	reply := strings.TrimSuffix(g.Text, chat.TinyEnd)
	t.Logf("What colour is the sky? → %q (%s)", reply, g.StopReason)
	if g.StopReason != "eos" || !utf8.ValidString(reply) || !strings.Contains(strings.ToLower(reply), "blue") {
		t.Errorf("reply %q (stop %s): want an English reply about blue that ends its turn", reply, g.StopReason)
	}
}

func meanNLL(t *testing.T, logits [][][]float32, ids [][]int32) float64 {
	t.Helper()
	var sum float64
	n := 0
	for b := range ids {
		for i := 0; i+1 < len(ids[b]); i++ {
			row := logits[b][i]
			mx := row[0]
			for _, v := range row {
				mx = max(mx, v)
			}
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v - mx))
			}
			sum += math.Log(z) - float64(row[ids[b][i+1]]-mx)
			n++
		}
	}
	return sum / float64(n)
}
