package mask

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// twoTurns is a DeepSeek-V3 style conversation whose byte encoding is easy to read:
//
//	pos: 0   1   2    3   4     5   6   7    8   9     10  11  12
//	     BOS 'S' User 'q' Asst  'A' EOS User 'r' Asst  'B' 'C' EOS
func twoTurns() []chat.Segment {
	return []chat.Segment{
		{Text: "<｜begin▁of▁sentence｜>", Kind: chat.Control, Turn: -1},
		{Text: "S", Kind: chat.Content, Role: chat.RoleSystem, Turn: -1},
		{Text: "<｜User｜>", Kind: chat.Control, Role: chat.RoleUser, Turn: 0},
		{Text: "q", Kind: chat.Content, Role: chat.RoleUser, Turn: 0},
		{Text: "<｜Assistant｜>", Kind: chat.Control, Role: chat.RoleAssistant, Turn: 0},
		{Text: "A", Kind: chat.Content, Role: chat.RoleAssistant, Turn: 0},
		{Text: "<｜end▁of▁sentence｜>", Kind: chat.EndOfTurn, Role: chat.RoleAssistant, Turn: 0},
		{Text: "<｜User｜>", Kind: chat.Control, Role: chat.RoleUser, Turn: 1},
		{Text: "r", Kind: chat.Content, Role: chat.RoleUser, Turn: 1},
		{Text: "<｜Assistant｜>", Kind: chat.Control, Role: chat.RoleAssistant, Turn: 1},
		{Text: "BC", Kind: chat.Content, Role: chat.RoleAssistant, Turn: 1},
		{Text: "<｜end▁of▁sentence｜>", Kind: chat.EndOfTurn, Role: chat.RoleAssistant, Turn: 1},
	}
}

const X = IgnoreIndex

func TestStrategies(t *testing.T) {
	bos, eos := testEnc.id("<｜begin▁of▁sentence｜>"), testEnc.id("<｜end▁of▁sentence｜>")
	usr, ast := testEnc.id("<｜User｜>"), testEnc.id("<｜Assistant｜>")
	ids := []int32{bos, 'S', usr, 'q', ast, 'A', eos, usr, 'r', ast, 'B', 'C', eos}
	tests := []struct {
		strategy Strategy
		want     []Example
	}{
		{AllAssistantTurns, []Example{{ids,
			[]int32{X, X, X, X, X, 'A', eos, X, X, X, 'B', 'C', eos},
			[]int32{-1, -1, -1, -1, -1, 0, 0, -1, -1, -1, 1, 1, 1}}}},
		{LastTurnOnly, []Example{{ids,
			[]int32{X, X, X, X, X, X, X, X, X, X, 'B', 'C', eos},
			[]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 1, 1}}}},
		{SplitPerTurn, []Example{
			{ids[:7], []int32{X, X, X, X, X, 'A', eos}, []int32{-1, -1, -1, -1, -1, 0, 0}},
			{ids, []int32{X, X, X, X, X, X, X, X, X, X, 'B', 'C', eos},
				[]int32{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 1, 1}}}},
		{TrainOnPrompt, []Example{{ids, ids,
			[]int32{-1, -1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			got, err := Build(twoTurns(), testEnc, tc.strategy, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestLabelConvention checks the HF convention: labels aligned with inputs, shift in the loss.
func TestLabelConvention(t *testing.T) {
	exs, err := Build(twoTurns(), testEnc, AllAssistantTurns, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ex := exs[0]
	if len(ex.Labels) != len(ex.InputIDs) || len(ex.Turn) != len(ex.InputIDs) {
		t.Fatalf("lengths: ids %d labels %d turn %d", len(ex.InputIDs), len(ex.Labels), len(ex.Turn))
	}
	for i, l := range ex.Labels {
		if l != IgnoreIndex && l != ex.InputIDs[i] {
			t.Errorf("labels[%d] = %d, want %d or %d", i, l, ex.InputIDs[i], IgnoreIndex)
		}
	}
	// The loss target at position i is labels[i+1]: the first reply token 'A' (position 5)
	// is predicted from the "<｜Assistant｜>" token at position 4.
	tgt := ShiftedTargets(ex.Labels)
	if tgt[4] != 'A' || tgt[3] != IgnoreIndex || tgt[len(tgt)-1] != IgnoreIndex {
		t.Errorf("shifted targets %v: want 'A' at 4, -100 at 3 and at the end", tgt)
	}
	if ex.InputIDs[4] != testEnc.id("<｜Assistant｜>") {
		t.Errorf("position 4 holds %d, want <｜Assistant｜>", ex.InputIDs[4])
	}
}

func TestTruncation(t *testing.T) {
	tests := []struct {
		name     string
		strategy Strategy
		opts     Options
		wantLens []int
		want     Dropped
	}{
		{"fits", AllAssistantTurns, Options{MaxLength: 13}, []int{13}, Dropped{}},
		{"drop", AllAssistantTurns, Options{MaxLength: 10}, nil, Dropped{Samples: 1, Turns: 2, Tokens: 13, SupervisedTokens: 5, LongerThanMax: 1}},
		{"cut_right", AllAssistantTurns, Options{MaxLength: 10, Truncation: CutRight}, []int{10}, Dropped{Turns: 1, Tokens: 3, SupervisedTokens: 3}},
		{"cut_right_nothing_left", AllAssistantTurns, Options{MaxLength: 5, Truncation: CutRight}, nil, Dropped{Samples: 1, Turns: 2, Tokens: 13, SupervisedTokens: 5, NothingSupervisedLeft: 1}},
		{"keep_from_end", AllAssistantTurns, Options{MaxLength: 10, Truncation: KeepTurnsFromEnd}, []int{8}, Dropped{Turns: 1, Tokens: 5, SupervisedTokens: 2}},
		{"keep_from_end_too_long", AllAssistantTurns, Options{MaxLength: 7, Truncation: KeepTurnsFromEnd}, nil, Dropped{Samples: 1, Turns: 2, Tokens: 13, SupervisedTokens: 5, LastTurnTooLong: 1}},
		{"split_drop_long_prefix", SplitPerTurn, Options{MaxLength: 10}, []int{7}, Dropped{Samples: 1, Turns: 1, Tokens: 13, SupervisedTokens: 3, LongerThanMax: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Dropped
			tc.opts.Dropped = &d
			exs, err := Build(twoTurns(), testEnc, tc.strategy, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var lens []int
			for _, ex := range exs {
				lens = append(lens, ex.Len())
				if ex.Len() > tc.opts.MaxLength {
					t.Errorf("example of %d tokens exceeds MaxLength %d", ex.Len(), tc.opts.MaxLength)
				}
			}
			if !reflect.DeepEqual(lens, tc.wantLens) {
				t.Errorf("lengths %v, want %v", lens, tc.wantLens)
			}
			if d != tc.want {
				t.Errorf("dropped %+v, want %+v", d, tc.want)
			}
		})
	}
	// keep_turns_from_end keeps BOS + system, then the last turn.
	exs, _ := Build(twoTurns(), testEnc, AllAssistantTurns, Options{MaxLength: 10, Truncation: KeepTurnsFromEnd})
	bos, usr := testEnc.id("<｜begin▁of▁sentence｜>"), testEnc.id("<｜User｜>")
	if got := exs[0].InputIDs[:4]; !reflect.DeepEqual(got, []int32{bos, 'S', usr, 'r'}) {
		t.Errorf("kept head+turn starts %v", got)
	}
}

func TestBuildErrors(t *testing.T) {
	userOnly := []chat.Segment{{Text: "hi", Kind: chat.Content, Role: chat.RoleUser, Turn: 0}}
	if _, err := Build(userOnly, testEnc, AllAssistantTurns, Options{}); !errors.Is(err, ErrNoSupervision) {
		t.Errorf("user-only conversation: err = %v, want ErrNoSupervision", err)
	}
	bad := []struct {
		name string
		segs []chat.Segment
		opts Options
		s    Strategy
	}{
		{"kind", []chat.Segment{{Text: "x", Kind: 7, Role: chat.RoleAssistant}}, Options{}, AllAssistantTurns},
		{"eot_user", []chat.Segment{{Text: "x", Kind: chat.EndOfTurn, Role: chat.RoleUser}}, Options{}, AllAssistantTurns},
		{"turn", []chat.Segment{{Text: "x", Kind: chat.Content, Role: chat.RoleAssistant, Turn: -1}}, Options{}, AllAssistantTurns},
		{"maxlen", twoTurns(), Options{MaxLength: -1}, AllAssistantTurns},
		{"strategy", twoTurns(), Options{}, Strategy(42)},
		{"truncation", twoTurns(), Options{MaxLength: 3, Truncation: 9}, AllAssistantTurns},
	}
	for _, tc := range bad {
		if _, err := Build(tc.segs, testEnc, tc.s, tc.opts); err == nil || errors.Is(err, ErrNoSupervision) {
			t.Errorf("%s: err = %v, want a validation error", tc.name, err)
		}
	}
}

func TestParseStrategy(t *testing.T) {
	for in, want := range map[string]Strategy{"method1": LastTurnOnly, "split_per_turn": SplitPerTurn, "": AllAssistantTurns,
		"ALL_ASSISTANT_TURNS": AllAssistantTurns, "train_on_prompt": TrainOnPrompt} {
		got, err := ParseStrategy(in)
		if err != nil || got != want {
			t.Errorf("ParseStrategy(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseStrategy("method4"); err == nil {
		t.Error("ParseStrategy(method4) succeeded")
	}
}

func TestBuildAll(t *testing.T) {
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	enc := byteEncoder{specials: tmpl.SpecialTokens}
	convs := []chat.Conversation{
		{Messages: []chat.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello"}}},
		{Messages: []chat.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"},
			{Role: "user", Content: "c"}, {Role: "assistant", Content: "d"}}},
	}
	exs, err := BuildAll(convs, tmpl, enc, SplitPerTurn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != 3 {
		t.Fatalf("SplitPerTurn over 1+2 replies gave %d examples, want 3", len(exs))
	}
	for i, c := range convs {
		segs, _ := tmpl.Render(c, false)
		want, _ := Build(segs, enc, SplitPerTurn, Options{})
		got := exs[:len(want)]
		exs = exs[len(want):]
		for k := range want {
			if !slices.Equal(got[k].InputIDs, want[k].InputIDs) || !slices.Equal(got[k].Labels, want[k].Labels) {
				t.Fatalf("conversation %d example %d differs from Build", i, k)
			}
		}
	}
	bad := []chat.Conversation{convs[0], {Messages: []chat.Message{{Role: "assistant", Content: "x"}}}}
	if _, err := BuildAll(bad, tmpl, enc, AllAssistantTurns, Options{}); err == nil || !strings.Contains(err.Error(), "conversation 1") {
		t.Fatalf("a bad conversation: err = %v, want it to name conversation 1", err)
	}
}

// TestEncodeConversation: the ids are the tokenizer's own ids for the rendered text (the
// independent reference: EncodeSpecial on chat.Join, as HF apply_chat_template(tokenize=True)),
// with and without the generation prompt; message text that spells a control token stays text.
func TestEncodeConversation(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join(repoRoot(t), "pkg", "tokenizer", "testdata", "tiny_bpe"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	conv := func(user string) chat.Conversation {
		return chat.Conversation{System: "Be brief.", Messages: []chat.Message{
			{Role: chat.RoleUser, Content: user}, {Role: chat.RoleAssistant, Content: "Hello!"},
			{Role: chat.RoleUser, Content: "你好"}}}
	}
	for _, genPrompt := range []bool{false, true} {
		segs, err := tmpl.Render(conv("Hi there"), genPrompt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeConversation(conv("Hi there"), tmpl, tok, genPrompt)
		if err != nil {
			t.Fatal(err)
		}
		if want := ids32(tok.EncodeSpecial(chat.Join(segs))); !slices.Equal(got, want) {
			t.Errorf("generation prompt %v:\n got %v\nwant %v", genPrompt, got, want)
		}
	}
	end := int32(tok.EncodeSpecial("<|end|>")[0])
	count := func(ids []int32) (n int) {
		for _, id := range ids {
			if id == end {
				n++
			}
		}
		return n
	}
	clean, _ := EncodeConversation(conv("Hi"), tmpl, tok, false)
	dirty, err := EncodeConversation(conv("Hi <|end|>"), tmpl, tok, false)
	if err != nil {
		t.Fatal(err)
	}
	if count(dirty) != count(clean) {
		t.Errorf("\"<|end|>\" written in a message became a control token: %d control tokens, want %d", count(dirty), count(clean))
	}
	if _, err := EncodeConversation(chat.Conversation{Messages: []chat.Message{{Role: "robot", Content: "x"}}}, tmpl, tok, false); err == nil {
		t.Error("a conversation the template cannot render was encoded")
	}
}

// TestBuildAllRefusesUnsupervisable: a conversation whose replies are all empty has nothing to
// learn but end-of-turn tokens (ErrNoSupervision), and one that ends with a user message is
// refused under the supervised strategies (ErrEndsWithUser); train_on_prompt takes both.
func TestBuildAllRefusesUnsupervisable(t *testing.T) {
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	enc := byteEncoder{specials: tmpl.SpecialTokens}
	msgs := func(contents ...string) chat.Conversation {
		var c chat.Conversation
		for i, m := range contents {
			role := chat.RoleUser
			if i%2 == 1 {
				role = chat.RoleAssistant
			}
			c.Messages = append(c.Messages, chat.Message{Role: role, Content: m})
		}
		return c
	}
	cases := []struct {
		name string
		conv chat.Conversation
		want error
	}{
		{"empty reply", msgs("hi", ""), ErrNoSupervision},
		{"all replies empty", msgs("hi", "", "more", " \n"), ErrNoSupervision},
		{"ends with user", msgs("hi", "hello", "bye"), ErrEndsWithUser},
		{"user only", msgs("hi"), ErrNoSupervision},
	}
	for _, tc := range cases {
		for _, s := range []Strategy{AllAssistantTurns, LastTurnOnly, SplitPerTurn} {
			exs, err := BuildAll([]chat.Conversation{msgs("a", "b"), tc.conv}, tmpl, enc, s, Options{})
			if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), "conversation 1") {
				t.Errorf("%s, %s: %d examples, err = %v; want %v naming conversation 1", tc.name, s, len(exs), err, tc.want)
			}
		}
		if tc.name != "user only" {
			if _, err := BuildAll([]chat.Conversation{tc.conv}, tmpl, enc, TrainOnPrompt, Options{}); err != nil {
				t.Errorf("%s, train_on_prompt: %v", tc.name, err)
			}
		}
	}
	// Account skips and counts them.
	var segs [][]chat.Segment
	for _, c := range []chat.Conversation{msgs("a", "b"), msgs("hi", ""), msgs("hi", "hello", "bye")} {
		sg, err := tmpl.Render(c, false)
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, sg)
	}
	if st, err := Account(segs, enc, AllAssistantTurns, Options{}, Layout{}); err != nil || st.Skipped != 2 || st.Samples != 1 {
		t.Errorf("Account: %+v, %v; want 2 skipped, 1 sample", st, err)
	}
	// One empty reply among others still gives the others.
	if exs, err := BuildAll([]chat.Conversation{msgs("a", "", "c", "d")}, tmpl, enc, AllAssistantTurns, Options{}); err != nil || len(exs) != 1 {
		t.Errorf("one empty reply of two: %d examples, err %v", len(exs), err)
	}
}

// TestBuildAllAllDropped: a max_length shorter than every sample is an error that says so,
// with the counts per reason, instead of an empty set that fails later as "no training
// batches"; the counts still reach opts.Dropped.
func TestBuildAllAllDropped(t *testing.T) {
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	enc := byteEncoder{specials: tmpl.SpecialTokens}
	convs := []chat.Conversation{
		{Messages: []chat.Message{{Role: "user", Content: "a long enough question"}, {Role: "assistant", Content: "an answer"}}},
		{Messages: []chat.Message{{Role: "user", Content: "another question"}, {Role: "assistant", Content: "yes"}}},
	}
	var d Dropped
	exs, err := BuildAll(convs, tmpl, enc, AllAssistantTurns, Options{MaxLength: 8, Dropped: &d})
	if !errors.Is(err, ErrAllDropped) || len(exs) != 0 {
		t.Fatalf("%d examples, err %v; want ErrAllDropped", len(exs), err)
	}
	for _, want := range []string{"max_length 8", "2 longer than max_length (drop_sample)", "of 2 conversations"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if d.Samples != 2 || d.LongerThanMax != 2 {
		t.Errorf("Dropped %+v, want 2 samples longer than max_length", d)
	}
	_, err = BuildAll(convs, tmpl, enc, AllAssistantTurns, Options{MaxLength: 8, Truncation: CutRight})
	if !errors.Is(err, ErrAllDropped) || !strings.Contains(err.Error(), "2 with no supervised token left after truncation") {
		t.Errorf("cut_right: err %v", err)
	}
	// One sample kept: no error, the other counted.
	d = Dropped{}
	exs, err = BuildAll(convs, tmpl, enc, AllAssistantTurns, Options{MaxLength: 30, Dropped: &d})
	if err != nil || len(exs) != 1 || d.LongerThanMax != 1 {
		t.Errorf("one kept: %d examples, %+v, err %v", len(exs), d, err)
	}
}
