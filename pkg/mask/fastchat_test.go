package mask

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// encoderForData returns DeepSeek-V3's tokenizer when npm can provide it, else the byte encoder.
func encoderForData(t *testing.T) Encoder {
	tok, why := deepseekTokenizer(t)
	if tok == nil {
		t.Logf("using the byte-level test encoder: %s", why)
		return testEnc
	}
	return tok
}

// replyRuns returns the supervised runs of ex (maximal runs of labels != -100).
func replyRuns(ex Example) [][]int32 {
	var runs [][]int32
	for i := 0; i < ex.Len(); {
		if ex.Labels[i] == IgnoreIndex {
			i++
			continue
		}
		j := i
		for j < ex.Len() && ex.Labels[j] != IgnoreIndex {
			j++
		}
		runs = append(runs, ex.Labels[i:j])
		i = j
	}
	return runs
}

func ids32(xs []int) []int32 {
	out := make([]int32, len(xs))
	for i, x := range xs {
		out[i] = int32(x)
	}
	return out
}

// TestFastChatStrategies runs the three methods on FastChat's real ShareGPT file rendered
// with the DeepSeek-V3 template and checks the documented labels and the accounting.
func TestFastChatStrategies(t *testing.T) {
	convs := fastChat(t)
	tok := encoderForData(t)
	tmpl, err := chat.Lookup("deepseek3")
	if err != nil {
		t.Fatal(err)
	}
	eos := ids32(tok.EncodeSpecial(tmpl.EndOfTurn))
	dataset := make([][]chat.Segment, len(convs))
	replies := 0
	for i, c := range convs {
		dataset[i] = render(t, "deepseek3", c)
		// Each reply as its supervised run: Encode(content) + end-of-turn.
		var want [][]int32
		for _, m := range c.Messages {
			if m.Role == chat.RoleAssistant {
				want = append(want, append(ids32(tok.Encode(m.Content)), eos...))
			}
		}
		replies += len(want)

		m3, err := Build(dataset[i], tok, AllAssistantTurns, Options{})
		if err != nil {
			t.Fatalf("conversation %d: %v", i, err)
		}
		m1, err := Build(dataset[i], tok, LastTurnOnly, Options{})
		if err != nil {
			t.Fatalf("conversation %d: %v", i, err)
		}
		m2, err := Build(dataset[i], tok, SplitPerTurn, Options{})
		if err != nil {
			t.Fatalf("conversation %d: %v", i, err)
		}
		// Method 3: every reply, with -100 between them, each ending with its EOS.
		if len(m3) != 1 || !reflect.DeepEqual(replyRuns(m3[0]), want) {
			t.Fatalf("conversation %d: method 3 supervised runs %v, want %v", i, replyRuns(m3[0]), want)
		}
		// Method 1: only the last reply (+ EOS), at the end of the sample.
		if len(m1) != 1 || !reflect.DeepEqual(replyRuns(m1[0]), want[len(want)-1:]) || m1[0].Labels[m1[0].Len()-1] == IgnoreIndex {
			t.Fatalf("conversation %d: method 1 runs %v, want only %v", i, replyRuns(m1[0]), want[len(want)-1])
		}
		// Method 2: sample k is the prefix through reply k, only reply k supervised.
		if len(m2) != len(want) {
			t.Fatalf("conversation %d: method 2 gave %d samples for %d replies", i, len(m2), len(want))
		}
		for k, ex := range m2 {
			if !reflect.DeepEqual(replyRuns(ex), want[k:k+1]) || !reflect.DeepEqual(ex.InputIDs, m3[0].InputIDs[:ex.Len()]) {
				t.Fatalf("conversation %d sample %d: method 2 runs %v, want %v (and a prefix of the full input)", i, k, replyRuns(ex), want[k])
			}
		}
		if !reflect.DeepEqual(m2[len(m2)-1].Labels, m1[0].Labels) {
			t.Fatalf("conversation %d: method 2's last sample differs from method 1", i)
		}
	}

	stats := map[Strategy]Stats{}
	for _, s := range []Strategy{LastTurnOnly, SplitPerTurn, AllAssistantTurns} {
		st, err := Account(dataset, tok, s, Options{}, Layout{})
		if err != nil {
			t.Fatal(err)
		}
		stats[s] = st
		t.Logf("%-20s samples %5d  tokens processed %7d  supervised %6d", s, st.Samples, st.TokensProcessed, st.SupervisedTokens)
	}
	m1, m2, m3 := stats[LastTurnOnly], stats[SplitPerTurn], stats[AllAssistantTurns]
	if m3.Samples != len(convs) || m1.Samples != len(convs) || m2.Samples != replies {
		t.Errorf("samples: method1 %d method3 %d (want %d), method2 %d (want %d)", m1.Samples, m3.Samples, len(convs), m2.Samples, replies)
	}
	if m2.TokensProcessed <= m3.TokensProcessed || m3.TokensProcessed != m1.TokensProcessed {
		t.Errorf("tokens processed: method2 %d must exceed method3 %d = method1 %d", m2.TokensProcessed, m3.TokensProcessed, m1.TokensProcessed)
	}
	if m2.SupervisedTokens != m3.SupervisedTokens || m1.SupervisedTokens >= m3.SupervisedTokens {
		t.Errorf("supervised: method2 %d must equal method3 %d, method1 %d must be fewer", m2.SupervisedTokens, m3.SupervisedTokens, m1.SupervisedTokens)
	}
	t.Logf("method 2 processes %.3fx the tokens of method 3 for the same %d supervised tokens; method 1 supervises %.1f%% of them",
		float64(m2.TokensProcessed)/float64(m3.TokensProcessed), m3.SupervisedTokens, 100*float64(m1.SupervisedTokens)/float64(m3.SupervisedTokens))

	// Padding of the two layouts, method 3.
	packed, err := Account(dataset, tok, AllAssistantTurns, Options{MaxLength: 1024, Truncation: KeepTurnsFromEnd}, Layout{PackLength: 1024})
	if err != nil {
		t.Fatal(err)
	}
	grouped, err := Account(dataset, tok, AllAssistantTurns, Options{MaxLength: 1024, Truncation: KeepTurnsFromEnd},
		Layout{Batch: BatchOptions{BatchSize: 8, GroupByLength: true, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	random, err := Account(dataset, tok, AllAssistantTurns, Options{MaxLength: 1024, Truncation: KeepTurnsFromEnd},
		Layout{Batch: BatchOptions{BatchSize: 8, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if packed.PaddingFraction() >= random.PaddingFraction() || grouped.PaddingFraction() >= random.PaddingFraction() {
		t.Errorf("padding: packed %.4f, grouped %.4f should both beat random %.4f", packed.PaddingFraction(), grouped.PaddingFraction(), random.PaddingFraction())
	}
	t.Logf("padding fraction (method 3): packed rows of 1024 %.4f (%d rows), batches of 8 length-grouped %.4f, random %.4f",
		packed.PaddingFraction(), packed.Rows, grouped.PaddingFraction(), random.PaddingFraction())
}

// TestJointEncodingMatchesTokenizer: with the default joint encoding, input_ids are exactly
// the tokenizer's ids for the rendered conversation (HF apply_chat_template(tokenize=True)),
// for every FastChat conversation; per-segment encoding differs where a template puts plain
// text before a reply ("Assistant: " + reply).
func TestJointEncodingMatchesTokenizer(t *testing.T) {
	convs := fastChat(t)
	type setup struct {
		tmpl string
		tok  *tokenizer.Tokenizer
	}
	tiny, err := tokenizer.Load(filepath.Join(repoRoot(t), "pkg", "tokenizer", "testdata", "tiny_bpe"))
	if err != nil {
		t.Fatal(err)
	}
	setups := []setup{{"tiny", tiny}}
	if ds, why := deepseekTokenizer(t); ds != nil {
		setups = append(setups, setup{"deepseek", ds}, setup{"deepseek3", ds})
	} else {
		t.Log(why)
	}
	for _, s := range setups {
		differ := 0
		for i, c := range convs {
			segs := render(t, s.tmpl, c)
			want := ids32(s.tok.EncodeSpecial(chat.Join(segs)))
			joint, err := Build(segs, s.tok, AllAssistantTurns, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(joint[0].InputIDs, want) {
				t.Fatalf("%s conversation %d: joint input_ids differ from the tokenizer's", s.tmpl, i)
			}
			per, err := Build(segs, s.tok, AllAssistantTurns, Options{PerSegment: true})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(per[0].InputIDs, want) {
				differ++
			}
		}
		t.Logf("%s: per-segment encoding differs from the tokenizer on %d of %d conversations", s.tmpl, differ, len(convs))
		if s.tmpl == "deepseek" && differ == 0 {
			t.Errorf("deepseek: expected per-segment encoding to split \"Assistant: \" + reply differently")
		}
	}
}
