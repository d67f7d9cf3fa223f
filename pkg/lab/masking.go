package lab

import (
	"fmt"
	"html"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/loralab/loralab/datasets/gen"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
)

// MethodLosses compares, token by token, the losses that masking methods 2 and 3 give the same
// supervised tokens under one model: the experiment behind "method 3 equals method 2's signal".
type MethodLosses struct {
	Conversations int
	// Tokens is the number of supervised tokens compared (every reply token of every
	// conversation); MaxAbsDiff is the largest |loss under method 3 − loss under method 2| over
	// them, and MeanLoss their mean loss under method 3 (nats a token), for scale.
	Tokens     int
	MaxAbsDiff float64
	MeanLoss   float64
	// PerTurn has the same per assistant turn (0 = the first reply, as mask.Example.Turn).
	PerTurn []TurnLosses
	// Samples, Processed and Supervised are the samples, the tokens the forward passes process
	// (padding aside: the cost) and the tokens supervised under methods 1, 2 and 3.
	Samples, Processed, Supervised [3]int
}

// TurnLosses is MethodLosses' comparison for the replies of one assistant turn.
type TurnLosses struct {
	Turn, Tokens         int
	MaxAbsDiff, MeanLoss float64
}

// methodsInOrder are the masking methods 1, 2 and 3.
var methodsInOrder = [3]mask.Strategy{mask.LastTurnOnly, mask.SplitPerTurn, mask.AllAssistantTurns}

// CompareMethods builds every conversation under methods 1, 2 and 3 (the base's template and
// tokenizer), computes the loss of every supervised token under method 2 (one sample per
// reply, the earlier turns as context) and under method 3 (one sample, every reply
// supervised), matches them token by token and reports the largest difference and what each
// method's forward passes cost. Causal attention makes the two equal: a reply's tokens see only
// what precedes them, which is exactly method 2's sample.
func (m *Model) CompareMethods(convs []chat.Conversation) MethodLosses {
	return Must(m.compareMethods(convs))
}

func (m *Model) compareMethods(convs []chat.Conversation) (MethodLosses, error) {
	res := MethodLosses{Conversations: len(convs)}
	var all3, all2 []mask.Example
	var owner []int // owner[j]: the conversation of method-2 sample j
	for i, c := range convs {
		segs, err := m.Base.Template.Render(c, false)
		if err != nil {
			return res, fmt.Errorf("conversation %d: %w", i, err)
		}
		for k, s := range methodsInOrder {
			exs, err := mask.Build(segs, m.Base.Tokenizer, s, mask.Options{})
			if err != nil {
				return res, fmt.Errorf("conversation %d, %s: %w", i, s, err)
			}
			res.Samples[k] += len(exs)
			for _, ex := range exs {
				res.Processed[k] += ex.Len()
				res.Supervised[k] += ex.Supervised()
			}
			switch s {
			case mask.SplitPerTurn:
				all2 = append(all2, exs...)
				for range exs {
					owner = append(owner, i)
				}
			case mask.AllAssistantTurns:
				all3 = append(all3, exs[0])
			}
		}
	}
	loss3, err := m.exampleLosses(all3)
	if err != nil {
		return res, err
	}
	loss2, err := m.exampleLosses(all2)
	if err != nil {
		return res, err
	}
	turns := map[int]*TurnLosses{}
	covered := make([]int, len(all3)) // supervised tokens of method 3 met in method 2's samples
	var sum float64
	for j, ex := range all2 {
		i := owner[j]
		full := all3[i]
		if ex.Len() > full.Len() || !slices.Equal(ex.InputIDs, full.InputIDs[:ex.Len()]) {
			return res, fmt.Errorf("conversation %d: a method-2 sample is not a prefix of its method-3 sample", i)
		}
		for t, l := range ex.Labels {
			if l == mask.IgnoreIndex {
				continue
			}
			if full.Labels[t] != l {
				return res, fmt.Errorf("conversation %d position %d: method 2 supervises token %d, method 3 does not", i, t, l)
			}
			d := math.Abs(float64(loss3[i][t]) - float64(loss2[j][t]))
			tl := turns[int(ex.Turn[t])]
			if tl == nil {
				tl = &TurnLosses{Turn: int(ex.Turn[t])}
				turns[tl.Turn] = tl
			}
			tl.Tokens++
			tl.MeanLoss += float64(loss3[i][t])
			tl.MaxAbsDiff = max(tl.MaxAbsDiff, d)
			res.Tokens++
			res.MaxAbsDiff = max(res.MaxAbsDiff, d)
			sum += float64(loss3[i][t])
			covered[i]++
		}
	}
	for i, ex := range all3 {
		if covered[i] != ex.Supervised() {
			return res, fmt.Errorf("conversation %d: method 3 supervises %d tokens, method 2's samples %d", i, ex.Supervised(), covered[i])
		}
	}
	res.MeanLoss = sum / float64(max(res.Tokens, 1))
	for _, k := range slices.Sorted(maps.Keys(turns)) {
		tl := turns[k]
		tl.MeanLoss /= float64(tl.Tokens)
		res.PerTurn = append(res.PerTurn, *tl)
	}
	return res, nil
}

// String reports the comparison in a few lines.
func (r MethodLosses) String() string {
	s := fmt.Sprintf("%d conversations, %d supervised tokens compared: max |loss(method 3) − loss(method 2)| = %.2g nats (mean loss %.3f)\n",
		r.Conversations, r.Tokens, r.MaxAbsDiff, r.MeanLoss)
	for _, t := range r.PerTurn {
		s += fmt.Sprintf("  reply %d: %5d tokens, max difference %.2g, mean loss %.3f\n", t.Turn+1, t.Tokens, t.MaxAbsDiff, t.MeanLoss)
	}
	for k, name := range []string{"method 1 (last turn only)", "method 2 (split per turn)", "method 3 (all assistant turns)"} {
		s += fmt.Sprintf("  %-31s %4d samples, %6d tokens processed, %5d supervised\n", name, r.Samples[k], r.Processed[k], r.Supervised[k])
	}
	return s
}

// exampleLosses computes the per-token losses of examples (llama.Runner.TokenLosses) in padded
// batches of up to 16, fewer when their logits would exceed LogitsBudget: out[i][t] is the
// loss of examples[i]'s label t.
func (m *Model) exampleLosses(exs []mask.Example) ([][]float32, error) {
	longest := 8
	for _, ex := range exs {
		longest = max(longest, (ex.Len()+7)/8*8)
	}
	n := int(min(16, max(1, LogitsBudget/(int64(longest)*int64(m.Base.Model.Config.VocabSize)*4))))
	out := make([][]float32, 0, len(exs))
	for s := 0; s < len(exs); s += n {
		part := exs[s:min(s+n, len(exs))]
		b, err := mask.PadBatch(part, m.Base.PadID(), 8)
		if err != nil {
			return nil, err
		}
		rows, err := m.Runner.TokenLosses(b)
		if err != nil {
			return nil, err
		}
		for i, ex := range part {
			out = append(out, rows[i][:ex.Len()])
		}
	}
	return out, nil
}

// Layout is one way to lay a training set out in batches, measured: padded batches
// (mask.PadBatches) or packed rows (mask.Pack, mask.PackedBatches).
type Layout struct {
	Name string
	// Batches per epoch, and the rows of all of them.
	Batches, Rows int
	// Tokens and PaddingTokens are the real and the padding positions of one epoch.
	Tokens, PaddingTokens int
	// EpochSeconds is the wall time of each training epoch (the first compiles the graphs of
	// the shapes it meets).
	EpochSeconds []float64
	// MeanLoss is the mean per-token loss of the set's supervised tokens under one trained
	// adapter, computed in this layout.
	MeanLoss float64
}

// PaddingShare is PaddingTokens / (Tokens + PaddingTokens).
func (l Layout) PaddingShare() float64 {
	return mask.PadStats{Tokens: l.Tokens, PaddingTokens: l.PaddingTokens}.PaddingFraction()
}

// PackingResult is padding against packing on one training set (Base.Packing).
type PackingResult struct {
	Padded, Packed Layout
	// MaxAbsDiff is the largest difference between a supervised token's loss in the two layouts
	// (one adapter), over Tokens tokens.
	MaxAbsDiff float64
	Tokens     int
}

// Table shows the two layouts side by side (markdown).
func (p PackingResult) Table() string {
	var rows [][]string
	for _, l := range []Layout{p.Padded, p.Packed} {
		var secs []string
		for _, s := range l.EpochSeconds {
			secs = append(secs, fmt.Sprintf("%.2f", s))
		}
		rows = append(rows, []string{l.Name, Commas(l.Batches), Commas(l.Rows), Commas(l.Tokens), Commas(l.PaddingTokens),
			fmt.Sprintf("%.1f%%", 100*l.PaddingShare()), strings.Join(secs, " / "), fmt.Sprintf("%.6f", l.MeanLoss)})
	}
	return Table([]string{"layout", "batches / epoch", "rows", "real tokens", "padding tokens", "padding share", "wall s per epoch (1 / 2 …)", "mean token loss"}, rows) +
		fmt.Sprintf("\n\nmax |loss(packed) − loss(padded)| over %s supervised tokens: %.2g nats", Commas(p.Tokens), p.MaxAbsDiff)
}

// Packing compares padding with packing on one training set: it lays set's examples out as
// padded batches of args.PerDeviceTrainBatchSize rows (each padded to its longest example,
// rounded to a multiple of 8) and as packed rows of rowLen tokens (best-fit decreasing), as
// many rows per batch as hold the same number of examples on average; trains a fresh adapter
// (cfg) for args.NumTrainEpochs epochs in each layout and times every epoch; then computes the
// per-token loss of every supervised token of the set in both layouts under the adapter
// trained with padding. Packing's block-diagonal causal mask (segment ids) makes them equal.
func (b *Base) Packing(cfg lora.Config, args train.Args, set *Examples, rowLen int) PackingResult {
	padded, packed, diff, n, err := b.packing(cfg, args, set, rowLen)
	check(err, "packing vs padding")
	return PackingResult{Padded: padded, Packed: packed, MaxAbsDiff: diff, Tokens: n}
}

func (b *Base) packing(cfg lora.Config, args train.Args, set *Examples, rowLen int) (padded, packed Layout, maxDiff float64, n int, err error) {
	exs := set.Examples
	args.MaxSteps = -1 // num_train_epochs decides
	args, _ = FitBatches(args, b.Model.Config.VocabSize, rowLen, 0)
	padB, padSt, err := mask.PadBatches(exs, mask.BatchOptions{BatchSize: args.PerDeviceTrainBatchSize, PadID: b.PadID(), PadToMultipleOf: 8, Seed: uint64(args.Seed)})
	if err != nil {
		return padded, packed, 0, 0, err
	}
	rows, packSt, err := mask.Pack(exs, rowLen, b.PadID())
	if err != nil {
		return padded, packed, 0, 0, err
	}
	perRow := float64(len(exs)) / float64(len(rows))
	rowsPerBatch := max(1, int(math.Round(float64(args.PerDeviceTrainBatchSize)/perRow)))
	packB, err := mask.PackedBatches(rows, exs, rowsPerBatch)
	if err != nil {
		return padded, packed, 0, 0, err
	}
	padded = Layout{Name: "padding", Batches: len(padB), Rows: len(exs), Tokens: padSt.Tokens, PaddingTokens: padSt.PaddingTokens}
	packed = Layout{Name: "packing", Batches: len(packB), Rows: len(rows), Tokens: packSt.Tokens, PaddingTokens: packSt.PaddingTokens}
	var trained *lora.Adapter
	for _, l := range []*Layout{&padded, &packed} {
		batches := map[bool][]mask.Batch{true: padB, false: packB}[l == &padded]
		adapter, err := lora.New(cfg, b.Model, uint64(args.Seed))
		if err != nil {
			return padded, packed, 0, 0, err
		}
		tr, err := train.New(Backend(), train.LoRAModel(b.Model, adapter), args, &train.BatchLoader{Batches: batches, Shuffle: true, Seed: args.Seed}, nil)
		if err != nil {
			return padded, packed, 0, 0, fmt.Errorf("%s: %w", l.Name, err)
		}
		for e := 0; e < int(math.Ceil(args.NumTrainEpochs)); e++ {
			start := time.Now()
			if err := tr.TrainSteps(len(batches) / max(args.GradientAccumulationSteps, 1)); err != nil {
				return padded, packed, 0, 0, fmt.Errorf("%s: %w", l.Name, err)
			}
			l.EpochSeconds = append(l.EpochSeconds, time.Since(start).Seconds())
		}
		if l == &padded {
			if trained, err = train.TrainedAdapter(tr, adapter); err != nil {
				return padded, packed, 0, 0, err
			}
		}
	}
	m := b.With(trained)
	perExample, err := m.exampleLosses(exs) // the padded layout
	if err != nil {
		return padded, packed, 0, 0, err
	}
	var sumPad, sumPack float64
	for bi, pb := range packB {
		losses, err := m.Runner.TokenLosses(pb)
		if err != nil {
			return padded, packed, 0, 0, err
		}
		for row, loss := range losses {
			pos := 0
			for _, ei := range rows[bi*rowsPerBatch+row].Examples {
				ex := exs[ei]
				for t := 1; t < ex.Len(); t++ {
					if ex.Labels[t] != mask.IgnoreIndex {
						sumPad, sumPack, n = sumPad+float64(perExample[ei][t]), sumPack+float64(loss[pos+t]), n+1
						maxDiff = max(maxDiff, math.Abs(float64(perExample[ei][t])-float64(loss[pos+t])))
					}
				}
				pos += ex.Len()
			}
		}
	}
	padded.MeanLoss, packed.MeanLoss = sumPad/float64(max(n, 1)), sumPack/float64(max(n, 1))
	return padded, packed, maxDiff, n, nil
}

// TokenCurves draws each run's eval loss against the tokens its training had processed by
// then (real tokens, padding aside): what a step costs differs between runs whose samples
// differ (masking methods, packing), and the x axis shows it.
func (rs Runs) TokenCurves(title string) plot.Chart {
	var series []plot.Series
	for _, r := range rs {
		s := plot.Series{Name: r.Name}
		for _, e := range r.Evals {
			s.X, s.Y = append(s.X, float64(r.tokensAt(e.Step))), append(s.Y, e.Loss)
		}
		series = append(series, s)
	}
	return plot.Lines(plot.LineOptions{Title: title, Subtitle: "x: real tokens the training had processed (padding aside) / 训练已处理的真实 token（不含填充）",
		XName: "tokens processed", YName: "eval loss"}, series...)
}

// RecallCase is a dialogue cut before a question whose answer the user stated turns earlier.
type RecallCase struct {
	History  []chat.Message
	Question string
	// Answer is the fact asked for (the user's name).
	Answer string
}

// NameQuestions returns up to n cases from convs: each conversation whose first user message
// gives the user's name (one of the sft_recall generator's names, in the question's language)
// and that has at least exchanges exchanges, cut before its last exchange, with question asked
// instead — the name was stated exchanges−1 exchanges before (or more).
func NameQuestions(convs []chat.Conversation, question string, exchanges, n int) []RecallCase {
	names := gen.NamesEN
	if strings.ContainsFunc(question, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
		names = gen.NamesZH
	}
	var out []RecallCase
	for _, c := range convs {
		if len(out) == n || len(c.Messages) < 2*exchanges || c.Messages[0].Role != chat.RoleUser {
			continue
		}
		for _, name := range names {
			if strings.Contains(c.Messages[0].Content, name) {
				out = append(out, RecallCase{History: c.Messages[:len(c.Messages)-2], Question: question, Answer: name})
				break
			}
		}
	}
	return out
}

// RecallAnswers are several models' replies to the same cases, side by side.
type RecallAnswers struct {
	Cases  []RecallCase
	Models []string
	// Replies[i][k] is model i's reply to case k; Found[i][k] whether it contains the case's Answer.
	Replies [][]string
	Found   [][]bool
}

// AskAll asks every case's question of each model (named by names), after the case's history,
// greedily.
func AskAll(cases []RecallCase, names []string, models ...*Model) RecallAnswers {
	a := RecallAnswers{Cases: cases, Models: names}
	for _, m := range models {
		var replies []string
		var found []bool
		for _, c := range cases {
			r := m.Reply(c.Question, c.History...)
			replies, found = append(replies, r), append(found, strings.Contains(r, c.Answer))
		}
		a.Replies, a.Found = append(a.Replies, replies), append(a.Found, found)
	}
	return a
}

// Hits is the number of model i's replies that contain the answer.
func (a RecallAnswers) Hits(i int) int {
	n := 0
	for _, f := range a.Found[i] {
		if f {
			n++
		}
	}
	return n
}

// Table shows the cases, one row each, with every model's reply marked ✓ when it contains the
// answer and ✗ when not, and a last row with the counts (markdown).
func (a RecallAnswers) Table() string {
	cell := func(s string) string { return strings.ReplaceAll(html.EscapeString(s), "|", "&#124;") }
	var rows [][]string
	for k, c := range a.Cases {
		row := []string{fmt.Sprintf("%s → %s (%d exchanges before)", cell(c.Answer), cell(c.Question), len(c.History)/2)}
		for i := range a.Models {
			row = append(row, map[bool]string{true: "✓ ", false: "✗ "}[a.Found[i][k]]+cell(a.Replies[i][k]))
		}
		rows = append(rows, row)
	}
	total := []string{"**contains the answer / 包含答案**"}
	for i := range a.Models {
		total = append(total, fmt.Sprintf("**%d / %d**", a.Hits(i), len(a.Cases)))
	}
	return Table(append([]string{"answer → question"}, a.Models...), append(rows, total))
}

// TokensToReach returns the real tokens the run had processed (padding aside) at its first
// evaluation whose eval loss is at most loss, and whether one was.
func (r *Run) TokensToReach(loss float64) (int64, bool) {
	for _, e := range r.Evals {
		if e.Loss <= loss {
			return r.tokensAt(e.Step), true
		}
	}
	return 0, false
}

// tokensAt is the real tokens processed after step (0 before the first).
func (r *Run) tokensAt(step int) int64 {
	if step <= 0 || len(r.StepRealTokens) == 0 {
		return 0
	}
	return r.StepRealTokens[min(step, len(r.StepRealTokens))-1]
}
