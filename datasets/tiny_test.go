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
		t.Errorf("mean next-token loss on validation dialogues = %.3f, want < 1.5 (the card reports 0.65 on 64 rows)", nll)
	}

	// In-domain facts it answers right (greedy), each in a reply that ends its turn.
	for _, tc := range knownFacts {
		prompt, err := tb.Encode(chat.Conversation{Messages: []chat.Message{{Role: chat.RoleUser, Content: tc.prompt}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		g, err := r.Generate(prompt, llama.GenerateOptions{MaxNewTokens: 40, Decode: tb.Tokenizer.Decode})
		if err != nil {
			t.Fatal(err)
		}
		reply := strings.TrimSuffix(g.Text, chat.TinyEnd)
		t.Logf("%s → %q (%s)", tc.prompt, reply, g.StopReason)
		if g.StopReason != "eos" || !utf8.ValidString(reply) || !strings.Contains(strings.ToLower(reply), tc.want) {
			t.Errorf("%s → %q (stop %s): want a reply with %q that ends its turn", tc.prompt, reply, g.StopReason, tc.want)
		}
	}
}

// knownFacts are questions of the corpus's world that the committed model answers right.
var knownFacts = []struct{ prompt, want string }{
	{"What colour is the sky?", "sky is blue"},
	{"What do cows give us?", "milk"},
	{"一个星期有几天？", "七天"},
	{"What do hens lay?", "eggs"},
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

// The tiny base model speaks the world of the fine-tuning sets — the loss on their replies is
// far below uniform guessing (ln 4096 = 8.3 nats) — but knows neither of their skills: where a
// reply needs the persona or a fact the user stated earlier, the loss stays well above that of
// the ordinary replies, and asked who it is, it does not answer as the persona. The card
// (datasets/tiny_base/README.md) has the figures on the whole validation splits.
func TestTinyBaseLeavesSkillsToLoRA(t *testing.T) {
	tb, err := LoadTinyBase()
	if err != nil {
		t.Fatal(err)
	}
	b := backend.MustDefault()
	for _, name := range []string{SFTRecall, SFTIdentity} {
		r, err := EvalReplies(b, tb, name, Validation, 32)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: all %.3f, taught %.3f (%d tokens), ordinary %.3f (%d tokens)", name, r.All, r.Target, r.TargetTokens, r.Other, r.OtherTokens)
		if r.All >= maxReplyLoss[name] {
			t.Errorf("%s: reply loss %.3f, want < %.1f nats", name, r.All, maxReplyLoss[name])
		}
		if r.Other >= maxOrdinaryLoss {
			t.Errorf("%s: loss on ordinary replies %.3f, want < %.1f: the base should know the world", name, r.Other, maxOrdinaryLoss)
		}
		if r.Target-r.Other < minSkillGap {
			t.Errorf("%s: loss on the taught replies %.3f is within %.1f of the ordinary ones (%.3f): the base should not know the skill yet",
				name, r.Target, minSkillGap, r.Other)
		}
	}
	run, err := llama.NewRunner(b, tb.Model, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ prompt, want string }{
		{"你是谁？", "AI助手"},
		{"What's your name?", "AI assistant"},
		{"你叫什么名字？", "没有名字"},
	} {
		ids, err := tb.Encode(chat.Conversation{Messages: []chat.Message{{Role: chat.RoleUser, Content: tc.prompt}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		g, err := run.Generate(ids, llama.GenerateOptions{MaxNewTokens: 40, Decode: tb.Tokenizer.Decode})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s → %q", tc.prompt, g.Text)
		if !strings.Contains(g.Text, tc.want) || strings.Contains(g.Text, "小灵") || strings.Contains(g.Text, "Xiaoling") || strings.Contains(g.Text, "LoRA Lab") {
			t.Errorf("%s → %q: want a nameless assistant (%q), not the persona", tc.prompt, g.Text, tc.want)
		}
	}
}

// Expectations of TestTinyBaseLeavesSkillsToLoRA on the first 32 validation conversations.
var maxReplyLoss = map[string]float64{ // nats per reply token, all replies (issue 9 aims at < 4)
	SFTRecall:   3.5,
	SFTIdentity: 3.5,
}

const (
	maxOrdinaryLoss = 2.5 // the ordinary in-domain replies
	minSkillGap     = 1.0 // taught replies minus ordinary replies
)
