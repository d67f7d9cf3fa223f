package lab

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/mask"
)

// multiTurn returns the first n validation dialogues of sft_recall with at least 3 exchanges.
func multiTurn(t *testing.T, b *Base, n int) []chat.Conversation {
	t.Helper()
	var out []chat.Conversation
	for _, c := range b.Examples(datasets.SFTRecall, datasets.Validation, DataOptions{}).Conversations {
		if len(c.Messages) >= 6 && len(out) < n {
			out = append(out, c)
		}
	}
	if len(out) < n {
		t.Fatalf("only %d dialogues of 3 exchanges or more", len(out))
	}
	return out
}

// TestMethod3EqualsMethod2: on the tiny base, every supervised token has the same loss in
// method 3's one sample as in its method-2 sample (causal attention), and the accounting holds:
// method 3 processes method 1's tokens, method 2 more.
func TestMethod3EqualsMethod2(t *testing.T) {
	b := Load("", "")
	convs := multiTurn(t, b, 6)
	r, err := b.With(nil).compareMethods(convs)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	supervised, perTurn := 0, 0
	for _, c := range convs {
		segs, _ := b.Template.Render(c, false)
		exs, err := mask.Build(segs, b.Tokenizer, mask.AllAssistantTurns, mask.Options{})
		if err != nil {
			t.Fatal(err)
		}
		supervised += exs[0].Supervised()
	}
	for _, tl := range r.PerTurn {
		perTurn += tl.Tokens
	}
	if r.Tokens != supervised || perTurn != supervised {
		t.Errorf("compared %d tokens (%d by turn), method 3 supervises %d", r.Tokens, perTurn, supervised)
	}
	if len(r.PerTurn) < 3 {
		t.Errorf("%d turns compared, want ≥ 3", len(r.PerTurn))
	}
	if r.MaxAbsDiff > 1e-4 || r.MeanLoss < 0.1 {
		t.Errorf("max difference %.3g (mean loss %.3f): method 3's token losses differ from method 2's", r.MaxAbsDiff, r.MeanLoss)
	}
	if r.Samples[0] != 6 || r.Samples[2] != 6 || r.Samples[1] < 18 {
		t.Errorf("samples %v, want 6, ≥ 18, 6", r.Samples)
	}
	if r.Supervised[1] != supervised || r.Supervised[2] != supervised || r.Supervised[0] >= supervised {
		t.Errorf("supervised %v: methods 2 and 3 should supervise all %d reply tokens, method 1 fewer", r.Supervised, supervised)
	}
	if r.Processed[0] != r.Processed[2] || r.Processed[1] < 2*r.Processed[2] {
		t.Errorf("tokens processed %v: method 3 should cost method 1's, method 2 at least twice that (≥ 3 exchanges)", r.Processed)
	}
}

// TestTokenLossesSeeContext is the control of TestMethod3EqualsMethod2's tolerance: change one
// token of a reply's context and that reply's losses move by far more than 1e-4, so a method-2
// sample that lost or changed its context would be caught.
func TestTokenLossesSeeContext(t *testing.T) {
	b := Load("", "")
	c := multiTurn(t, b, 1)[0]
	segs, _ := b.Template.Render(c, false)
	exs, err := mask.Build(segs, b.Tokenizer, mask.SplitPerTurn, mask.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := exs[len(exs)-1]
	changed := mask.Example{InputIDs: append([]int32(nil), last.InputIDs...), Labels: last.Labels, Turn: last.Turn}
	changed.InputIDs[2] = last.InputIDs[3] // a token of the first user message
	m := b.With(nil)
	losses, err := m.exampleLosses([]mask.Example{last, changed})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, l := range last.Labels {
		if l != mask.IgnoreIndex {
			worst = max(worst, math.Abs(float64(losses[0][i]-losses[1][i])))
		}
	}
	if worst < 1e-3 {
		t.Errorf("changing the context moved the reply's losses by only %.3g", worst)
	}
}

// TestPackingKeepsLosses: packed rows give every supervised token the loss it has in a padded
// batch, with less padding; each epoch is timed.
func TestPackingKeepsLosses(t *testing.T) {
	b := Load("", "")
	set := b.Examples(datasets.SFTRecall, datasets.Validation, DataOptions{Limit: 24, MaxLength: 192})
	args := Args(Set{"num_train_epochs": 2, "per_device_train_batch_size": 8, "learning_rate": 1e-2})
	res := b.Packing(LoRA(Set{"r": 4, "target_modules": "all-linear"}), args, set, 192)
	padded, packed, diff := res.Padded, res.Packed, res.MaxAbsDiff
	t.Log(res.Table())
	if res.Tokens != set.Supervised() {
		t.Errorf("compared %d tokens, the set supervises %d", res.Tokens, set.Supervised())
	}
	if padded.Tokens != set.Tokens() || packed.Tokens != set.Tokens() {
		t.Errorf("tokens %d (padded), %d (packed), want %d", padded.Tokens, packed.Tokens, set.Tokens())
	}
	if packed.PaddingShare() >= padded.PaddingShare() || packed.Rows >= padded.Rows {
		t.Errorf("packing: %d rows, padding share %.3f; padding: %d rows, %.3f", packed.Rows, packed.PaddingShare(), padded.Rows, padded.PaddingShare())
	}
	if len(padded.EpochSeconds) != 2 || len(packed.EpochSeconds) != 2 || padded.EpochSeconds[1] <= 0 {
		t.Errorf("epoch times %v, %v", padded.EpochSeconds, packed.EpochSeconds)
	}
	if diff > 1e-4 || math.Abs(padded.MeanLoss-packed.MeanLoss) > 1e-5 || padded.MeanLoss < 0.1 {
		t.Errorf("packed losses differ from padded ones: max %.3g, means %.5f and %.5f", diff, padded.MeanLoss, packed.MeanLoss)
	}
}

func TestNameQuestions(t *testing.T) {
	convs := []chat.Conversation{
		{Messages: []chat.Message{{Role: chat.RoleUser, Content: "我叫刘洋。"}, {Role: chat.RoleAssistant, Content: "刘洋你好！"},
			{Role: chat.RoleUser, Content: "1加1等于几？"}, {Role: chat.RoleAssistant, Content: "2。"},
			{Role: chat.RoleUser, Content: "我住在哪里？"}, {Role: chat.RoleAssistant, Content: "不知道。"}}},
		{Messages: []chat.Message{{Role: chat.RoleUser, Content: "我住在成都。"}, {Role: chat.RoleAssistant, Content: "好的。"},
			{Role: chat.RoleUser, Content: "1加1等于几？"}, {Role: chat.RoleAssistant, Content: "2。"}}},
	}
	cases := NameQuestions(convs, "我叫什么名字？", 2, 5)
	if len(cases) != 1 || cases[0].Answer != "刘洋" || len(cases[0].History) != 4 || !strings.Contains(cases[0].Question, "名字") {
		t.Fatalf("cases %+v", cases)
	}
	if got := NameQuestions(convs, "我叫什么名字？", 4, 5); len(got) != 0 {
		t.Errorf("a 3-exchange dialogue was kept for 4 exchanges: %+v", got)
	}
}

// TestAskAll: the replies of a model to name questions, with the check computed.
func TestAskAll(t *testing.T) {
	b := Load("", "")
	cases := NameQuestions(b.Examples(datasets.SFTRecall, datasets.Validation, DataOptions{}).Conversations, "我叫什么名字？", 3, 2)
	if len(cases) != 2 {
		t.Fatalf("%d cases", len(cases))
	}
	cases[1].Answer = "" // every reply contains ""
	a := AskAll(cases, []string{"base"}, b.With(nil))
	if len(a.Replies) != 1 || len(a.Replies[0]) != 2 || !a.Found[0][1] || a.Found[0][0] != strings.Contains(a.Replies[0][0], cases[0].Answer) {
		t.Fatalf("%+v", a)
	}
	tab := a.Table()
	t.Log(tab)
	if !strings.Contains(tab, fmt.Sprintf("**%d / 2**", a.Hits(0))) || strings.Count(tab, "\n") != 5 {
		t.Errorf("table:\n%s", tab)
	}
}

// TestTokensProcessedPerStep: a run records the real tokens processed after every step, the
// x axis of TokenCurves and what TokensToReach reads.
func TestTokensProcessedPerStep(t *testing.T) {
	b := Load("", "")
	LiveCharts = false
	set := b.Examples(datasets.SFTRecall, datasets.Validation, DataOptions{Limit: 24, MaxLength: 192})
	r := b.FineTune("tokens", LoRA(Set{"r": 4}), Args(Set{"max_steps": 3, "per_device_train_batch_size": 4, "eval_steps": 2, "learning_rate": 1e-2}), set, set.First(8))
	if len(r.StepRealTokens) != 3 || r.StepRealTokens[2] != r.RealTokens || r.StepRealTokens[0] <= 0 || r.StepRealTokens[1] <= r.StepRealTokens[0] {
		t.Fatalf("tokens after each step %v, in all %d", r.StepRealTokens, r.RealTokens)
	}
	if len(r.Evals) != 3 || r.Evals[1].Step != 2 {
		t.Fatalf("evaluations at steps %+v", r.Evals)
	}
	if n, ok := r.TokensToReach(r.Evals[1].Loss); !ok || (r.Evals[0].Loss > r.Evals[1].Loss && n != r.StepRealTokens[1]) {
		t.Errorf("TokensToReach(loss at step 2) = %d, %v; tokens after step 2: %d", n, ok, r.StepRealTokens[1])
	}
	if _, ok := r.TokensToReach(-1); ok {
		t.Error("a negative loss was reached")
	}
	opt := Runs{r}.TokenCurves("t")
	if opt == nil {
		t.Fatal("no chart")
	}
}
