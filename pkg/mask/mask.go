// Package mask turns rendered conversations into training examples {input_ids, labels}: the
// three label strategies of multi-turn SFT (plus train-on-prompt), truncation to max_length
// with counters of what was dropped, packing and padding, and token accounting.
//
// Label convention (Hugging Face): labels are aligned with input_ids — same length, and
// labels[i] is either input_ids[i] (supervised) or IgnoreIndex. The shift happens inside the
// loss: the logits at position i are scored against labels[i+1] (see ShiftedTargets), so the
// first token of a reply is predicted from the position of the token just before it
// (e.g. "<｜Assistant｜>").
//
// What is supervised: the Content, ReplyPrefix and EndOfTurn segments of assistant messages
// (chat.Segment.Supervised) — so the end-of-turn token of every supervised reply
// ("<｜end▁of▁sentence｜>", "<|im_end|>") is learned and the model learns to stop. System, user, BOS, role headers and generation
// prompts never are, except with TrainOnPrompt.
//
// Tokenization: special-token text inside a message always stays ordinary text. With a
// JointEncoder (the project's tokenizer) the rendered conversation is tokenized as one string,
// special tokens matched only in template pieces, so input_ids equal the tokenizer's ids for
// the rendered prompt even where a template puts plain text next to message text
// ("Assistant: " + reply gives the token " Hello"); a token is supervised when any of its
// bytes belongs to a supervised segment. Otherwise (or with Options.PerSegment) segments are
// encoded one by one — Content with Encode, Control and EndOfTurn with EncodeSpecial — and
// BPE never merges across segment boundaries.
package mask

import (
	"errors"
	"fmt"
	"strings"

	"github.com/loralab/loralab/pkg/chat"
)

// IgnoreIndex marks a label that takes no part in the loss (PyTorch's ignore_index, HF's -100).
const IgnoreIndex = -100

// Strategy says which tokens of a conversation are supervised, and how many samples it gives.
type Strategy int

const (
	// AllAssistantTurns (method 3, the default): one sample, every assistant reply supervised,
	// -100 elsewhere: labels = -100 … <assistant_1> -100 … <assistant_2> …
	// Causal attention lets each reply see only what precedes it, so it gives method 2's
	// learning signal at method 1's cost.
	AllAssistantTurns Strategy = iota
	// LastTurnOnly (method 1): one sample, only the last assistant reply supervised.
	LastTurnOnly
	// SplitPerTurn (method 2): one sample per assistant reply k, holding the conversation up
	// to and including reply k, with only reply k supervised. Every prefix is recomputed.
	SplitPerTurn
	// TrainOnPrompt: one sample, every token supervised (padding excepted).
	TrainOnPrompt
)

var strategyNames = map[Strategy]string{
	AllAssistantTurns: "all_assistant_turns",
	LastTurnOnly:      "last_turn_only",
	SplitPerTurn:      "split_per_turn",
	TrainOnPrompt:     "train_on_prompt",
}

// String returns the strategy's snake_case name.
func (s Strategy) String() string {
	if n, ok := strategyNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// ParseStrategy accepts a strategy name ("all_assistant_turns", "last_turn_only",
// "split_per_turn", "train_on_prompt") or "method1", "method2", "method3".
func ParseStrategy(name string) (Strategy, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "method1", "1":
		return LastTurnOnly, nil
	case "method2", "2":
		return SplitPerTurn, nil
	case "method3", "3", "":
		return AllAssistantTurns, nil
	}
	for s, sn := range strategyNames {
		if sn == n {
			return s, nil
		}
	}
	return 0, fmt.Errorf("mask: unknown strategy %q", name)
}

// Truncation is what happens to a sample longer than Options.MaxLength.
type Truncation int

const (
	// DropSample drops the whole sample (the default).
	DropSample Truncation = iota
	// KeepTurnsFromEnd keeps the head (BOS and system prompt: the tokens of segments with
	// Turn -1) and as many whole turns from the end as fit; the sample is dropped if the
	// head and the last turn alone do not fit.
	KeepTurnsFromEnd
	// CutRight keeps the first MaxLength tokens; a sample left with no supervised token is
	// dropped.
	CutRight
)

// String returns the policy's snake_case name.
func (t Truncation) String() string {
	switch t {
	case DropSample:
		return "drop_sample"
	case KeepTurnsFromEnd:
		return "keep_turns_from_end"
	case CutRight:
		return "cut_right"
	}
	return fmt.Sprintf("Truncation(%d)", int(t))
}

// Dropped counts what truncation removed. Turns counts supervised turns that lost all their
// supervised tokens; Tokens and SupervisedTokens count removed tokens. Samples counts the
// samples dropped whole, and the three reasons split it.
type Dropped struct {
	Samples          int
	Turns            int
	Tokens           int
	SupervisedTokens int

	// LongerThanMax counts samples longer than MaxLength dropped under DropSample.
	LongerThanMax int
	// LastTurnTooLong counts samples dropped under KeepTurnsFromEnd because the head (BOS,
	// system prompt) and the last turn alone are longer than MaxLength.
	LastTurnTooLong int
	// NothingSupervisedLeft counts samples whose truncation (CutRight, KeepTurnsFromEnd) kept
	// no supervised token.
	NothingSupervisedLeft int
}

// Add accumulates o into d.
func (d *Dropped) Add(o Dropped) {
	d.Samples += o.Samples
	d.Turns += o.Turns
	d.Tokens += o.Tokens
	d.SupervisedTokens += o.SupervisedTokens
	d.LongerThanMax += o.LongerThanMax
	d.LastTurnTooLong += o.LastTurnTooLong
	d.NothingSupervisedLeft += o.NothingSupervisedLeft
}

// Reasons says why samples were dropped, with counts ("3 longer than max_length (drop_sample),
// 1 with no supervised token left after truncation"); "" when none was.
func (d Dropped) Reasons() string {
	var parts []string
	for _, r := range []struct {
		n    int
		what string
	}{{d.LongerThanMax, "longer than max_length (drop_sample)"},
		{d.LastTurnTooLong, "whose last turn with the head is longer than max_length (keep_turns_from_end)"},
		{d.NothingSupervisedLeft, "with no supervised token left after truncation"}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", r.n, r.what))
		}
	}
	return strings.Join(parts, ", ")
}

// ErrAllDropped is returned by BuildAll when max_length dropped every sample.
var ErrAllDropped = errors.New("mask: max_length dropped every sample")

// Options tune Build.
type Options struct {
	// MaxLength is the longest sample kept, in tokens; 0 means no limit.
	MaxLength int
	// Truncation is applied to samples longer than MaxLength.
	Truncation Truncation
	// Dropped, when not nil, accumulates what truncation removed.
	Dropped *Dropped
	// PerSegment encodes every segment on its own even when the encoder is a JointEncoder.
	// By default a JointEncoder tokenizes the rendered conversation as one string (with
	// special tokens matched only in template pieces), so input_ids equal what the model's
	// tokenizer gives for the rendered prompt.
	PerSegment bool
}

// Encoder turns text into token ids: Encode for message content (never producing control
// tokens), EncodeSpecial for template pieces that may contain special tokens.
// *tokenizer.Tokenizer implements it.
type Encoder interface {
	Encode(text string) []int
	EncodeSpecial(text string) []int
}

// Example is one training sample, the output of a masking strategy and the input of batching
// (PadBatch, Pack) and training. All slices have the same length.
type Example struct {
	InputIDs []int32
	// Labels[i] is InputIDs[i] or IgnoreIndex (HF convention: the loss shifts).
	Labels []int32
	// Turn is optional. The project's one turn numbering is chat.Segment's: Turn[i] is the
	// 0-based index of the exchange whose label token i carries (the first assistant reply is
	// turn 0), and -1 for a token with no supervised label (and, with TrainOnPrompt, for the
	// tokens before the first turn: BOS, system prompt). Evaluation reports metrics per turn
	// from it.
	Turn []int32
}

// Len is the number of tokens.
func (e Example) Len() int { return len(e.InputIDs) }

// Supervised counts the labels that are not IgnoreIndex.
func (e Example) Supervised() int {
	n := 0
	for _, l := range e.Labels {
		if l != IgnoreIndex {
			n++
		}
	}
	return n
}

// ShiftedTargets returns the targets the loss actually uses at each position:
// out[i] = labels[i+1], and IgnoreIndex at the last position.
func ShiftedTargets(labels []int32) []int32 {
	out := make([]int32, len(labels))
	if len(labels) == 0 {
		return out
	}
	copy(out, labels[1:])
	out[len(out)-1] = IgnoreIndex
	return out
}

// ErrNoSupervision is returned when a conversation has no token to supervise (no assistant
// reply, or only empty ones).
var ErrNoSupervision = errors.New("mask: no assistant tokens to supervise")

// ErrEndsWithUser is returned, under the supervised strategies (all but TrainOnPrompt), for a
// conversation whose last message is a user message: no reply answers it, so its tokens would
// cost compute and teach nothing (and "the last reply" of LastTurnOnly would not be last).
var ErrEndsWithUser = errors.New("mask: the conversation ends with a user message that no assistant reply answers")

// checkSupervisable refuses, for the supervised strategies, a conversation whose assistant
// replies are all empty (ErrNoSupervision: only their end-of-turn tokens would be learned) or
// whose last message is a user message (ErrEndsWithUser).
func checkSupervisable(segs []chat.Segment, strategy Strategy) error {
	if strategy == TrainOnPrompt {
		return nil
	}
	content, lastRole := false, ""
	for _, s := range segs {
		if s.Role == chat.RoleAssistant && s.Kind == chat.Content && strings.TrimSpace(s.Text) != "" {
			content = true
		}
		if s.Role == chat.RoleUser || s.Role == chat.RoleAssistant {
			lastRole = s.Role
		}
	}
	if !content {
		return ErrNoSupervision
	}
	if lastRole == chat.RoleUser {
		return ErrEndsWithUser
	}
	return nil
}

// encoded is a conversation as flat token arrays with per-token segment information.
type encoded struct {
	ids        []int32
	supervised []bool  // assistant Content / EndOfTurn
	segTurn    []int32 // Turn of the token's segment
	asstTurn   []int32 // Turn if the token belongs to an assistant message (any kind), else -2
}

// JointEncoder is implemented by encoders that can tokenize a whole rendered conversation at
// once, as Hugging Face tokenizes the output of apply_chat_template, while matching special
// tokens only inside the texts marked special (*tokenizer.Tokenizer's EncodeJoined). first[i]
// and last[i] give the range of texts token i's bytes come from. Build uses it when the
// encoder has it (see Options.PerSegment); an error makes Build fall back to per-segment.
type JointEncoder interface {
	EncodeJoined(texts []string, special []bool) (ids, first, last []int, err error)
}

func segSupervised(s chat.Segment) bool { return s.Supervised() }

func validate(segs []chat.Segment) error {
	for i, s := range segs {
		if s.Kind < chat.Control || s.Kind > chat.ReplyPrefix {
			return fmt.Errorf("mask: segment %d: unknown kind %d", i, int(s.Kind))
		}
		if s.Turn < -1 {
			return fmt.Errorf("mask: segment %d: turn %d < -1", i, s.Turn)
		}
		if s.Kind == chat.EndOfTurn && s.Role != chat.RoleAssistant {
			return fmt.Errorf("mask: segment %d: EndOfTurn segment with role %q (only assistant replies end with a supervised end-of-turn)", i, s.Role)
		}
		if segSupervised(s) && s.Turn < 0 {
			return fmt.Errorf("mask: segment %d: assistant segment with turn %d", i, s.Turn)
		}
	}
	return nil
}

func (e *encoded) push(id int, sup bool, segTurn, asstTurn int32) error {
	if id < 0 || id > 1<<31-1 {
		return fmt.Errorf("mask: token id %d out of int32 range", id)
	}
	e.ids = append(e.ids, int32(id))
	e.supervised = append(e.supervised, sup)
	e.segTurn = append(e.segTurn, segTurn)
	e.asstTurn = append(e.asstTurn, asstTurn)
	return nil
}

// encode tokenizes validated segments.
func encode(segs []chat.Segment, tok Encoder, perSegment bool) (*encoded, error) {
	if je, ok := tok.(JointEncoder); ok && !perSegment {
		if e, err := encodeJoint(segs, je); err == nil {
			return e, nil
		}
	}
	e := &encoded{}
	for i, s := range segs {
		var ids []int
		if s.Kind == chat.Content {
			ids = tok.Encode(s.Text)
		} else {
			ids = tok.EncodeSpecial(s.Text)
		}
		at := int32(-2)
		if s.Role == chat.RoleAssistant {
			at = int32(s.Turn)
		}
		for _, id := range ids {
			if err := e.push(id, segSupervised(s), int32(s.Turn), at); err != nil {
				return nil, fmt.Errorf("segment %d: %w", i, err)
			}
		}
	}
	return e, nil
}

// encodeJoint: a token is supervised when any of its bytes comes from a supervised segment
// (so " Hi" after "Assistant: " is learned whole); its turn is that segment's, else the turn
// of the segment its first byte comes from.
func encodeJoint(segs []chat.Segment, je JointEncoder) (*encoded, error) {
	texts := make([]string, len(segs))
	special := make([]bool, len(segs))
	for i, s := range segs {
		texts[i], special[i] = s.Text, s.Kind != chat.Content
	}
	ids, first, last, err := je.EncodeJoined(texts, special)
	if err != nil {
		return nil, err
	}
	if len(first) != len(ids) || len(last) != len(ids) {
		return nil, fmt.Errorf("mask: EncodeJoined returned %d ids, %d/%d piece indices", len(ids), len(first), len(last))
	}
	e := &encoded{}
	for i, id := range ids {
		if first[i] < 0 || last[i] >= len(segs) || first[i] > last[i] {
			return nil, fmt.Errorf("mask: EncodeJoined: token %d has pieces %d..%d of %d", i, first[i], last[i], len(segs))
		}
		sup, turn, at := false, int32(segs[first[i]].Turn), int32(-2)
		for k := first[i]; k <= last[i]; k++ {
			if !sup && segSupervised(segs[k]) {
				sup, turn = true, int32(segs[k].Turn)
			}
			if at == -2 && segs[k].Role == chat.RoleAssistant {
				at = int32(segs[k].Turn)
			}
		}
		if err := e.push(id, sup, turn, at); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Build encodes the segments of one rendered conversation and returns its examples under
// strategy: one example, or one per assistant reply for SplitPerTurn. Samples longer than
// opts.MaxLength are truncated by opts.Truncation (what was removed is added to
// opts.Dropped); a conversation whose every sample was dropped gives no example and no error.
// A conversation with nothing to supervise (no assistant reply, or only empty ones) is
// ErrNoSupervision; under the supervised strategies, one that ends with a user message is
// ErrEndsWithUser.
func Build(segs []chat.Segment, tok Encoder, strategy Strategy, opts Options) ([]Example, error) {
	if opts.MaxLength < 0 {
		return nil, fmt.Errorf("mask: negative MaxLength %d", opts.MaxLength)
	}
	if _, ok := strategyNames[strategy]; !ok {
		return nil, fmt.Errorf("mask: unknown strategy %d", int(strategy))
	}
	if opts.Truncation < DropSample || opts.Truncation > CutRight {
		return nil, fmt.Errorf("mask: unknown truncation policy %d", int(opts.Truncation))
	}
	if err := validate(segs); err != nil {
		return nil, err
	}
	if err := checkSupervisable(segs, strategy); err != nil {
		return nil, err
	}
	e, err := encode(segs, tok, opts.PerSegment)
	if err != nil {
		return nil, err
	}
	// Assistant turns that have at least one supervised token, in order.
	var turns []int32
	seen := map[int32]bool{}
	for i, s := range e.supervised {
		if s && !seen[e.segTurn[i]] {
			seen[e.segTurn[i]] = true
			turns = append(turns, e.segTurn[i])
		}
	}
	if len(turns) == 0 && strategy != TrainOnPrompt {
		return nil, ErrNoSupervision
	}
	if strategy == TrainOnPrompt && len(e.ids) == 0 {
		return nil, ErrNoSupervision
	}

	var out []Example
	emit := func(n int, keep func(i int) bool) {
		ex := Example{InputIDs: append([]int32(nil), e.ids[:n]...), Labels: make([]int32, n), Turn: make([]int32, n)}
		for i := 0; i < n; i++ {
			if keep(i) {
				ex.Labels[i] = e.ids[i]
				ex.Turn[i] = e.segTurn[i]
			} else {
				ex.Labels[i] = IgnoreIndex
				ex.Turn[i] = -1
			}
		}
		if t, ok := truncate(ex, e.segTurn[:n], opts); ok {
			out = append(out, t)
		}
	}
	n := len(e.ids)
	switch strategy {
	case AllAssistantTurns:
		emit(n, func(i int) bool { return e.supervised[i] })
	case LastTurnOnly:
		last := turns[len(turns)-1]
		emit(n, func(i int) bool { return e.supervised[i] && e.segTurn[i] == last })
	case TrainOnPrompt:
		emit(n, func(int) bool { return true })
	case SplitPerTurn:
		for _, k := range turns {
			end := 0 // one past the last token of assistant message k
			for i := range e.ids {
				if e.asstTurn[i] == k {
					end = i + 1
				}
			}
			emit(end, func(i int) bool { return e.supervised[i] && e.segTurn[i] == k })
		}
	}
	return out, nil
}

// supervisedTurns lists the distinct Turn values of supervised tokens.
func supervisedTurns(ex Example) map[int32]int {
	m := map[int32]int{}
	for i, l := range ex.Labels {
		if l != IgnoreIndex {
			m[ex.Turn[i]]++
		}
	}
	return m
}

// truncate applies opts to ex; it returns false when the sample is dropped.
func truncate(ex Example, segTurn []int32, opts Options) (Example, bool) {
	if opts.MaxLength == 0 || ex.Len() <= opts.MaxLength {
		return ex, true
	}
	var d Dropped
	before := supervisedTurns(ex)
	drop := func(reason *int) (Example, bool) {
		*reason++
		d.Samples++
		d.Turns += len(before)
		d.Tokens += ex.Len()
		d.SupervisedTokens += ex.Supervised()
		if opts.Dropped != nil {
			opts.Dropped.Add(d)
		}
		return Example{}, false
	}
	var kept Example
	switch opts.Truncation {
	case DropSample:
		return drop(&d.LongerThanMax)
	case CutRight:
		m := opts.MaxLength
		kept = Example{InputIDs: ex.InputIDs[:m:m], Labels: ex.Labels[:m:m], Turn: ex.Turn[:m:m]}
	case KeepTurnsFromEnd:
		head := 0
		for head < len(segTurn) && segTurn[head] == -1 {
			head++
		}
		// Walk back over whole turns (a turn = maximal run of tokens with the same segTurn).
		start := len(segTurn)
		for start > head {
			j := start
			t := segTurn[j-1]
			for j > head && segTurn[j-1] == t {
				j--
			}
			if head+(len(segTurn)-j) > opts.MaxLength {
				break
			}
			start = j
		}
		if start == len(segTurn) || head > opts.MaxLength {
			return drop(&d.LastTurnTooLong)
		}
		cat := func(s []int32) []int32 {
			return append(append(make([]int32, 0, head+len(s)-start), s[:head]...), s[start:]...)
		}
		kept = Example{InputIDs: cat(ex.InputIDs), Labels: cat(ex.Labels), Turn: cat(ex.Turn)}
	default:
		return Example{}, false
	}
	if kept.Supervised() == 0 {
		return drop(&d.NothingSupervisedLeft)
	}
	after := supervisedTurns(kept)
	for t := range before {
		if after[t] == 0 {
			d.Turns++
		}
	}
	d.Tokens += ex.Len() - kept.Len()
	d.SupervisedTokens += ex.Supervised() - kept.Supervised()
	if opts.Dropped != nil {
		opts.Dropped.Add(d)
	}
	return kept, true
}

// Template renders a conversation into segments; chat.Template implements it.
type Template interface {
	Render(conv chat.Conversation, addGenerationPrompt bool) ([]chat.Segment, error)
}

// EncodeConversation renders conv with tmpl (ending with the generation prompt when
// addGenerationPrompt, for a prompt to generate from) and returns its token ids, tokenized
// exactly as Build tokenizes (see the package doc: one joint pass with a JointEncoder, else
// segment by segment), so message text never becomes control tokens. It is the one
// render-then-encode of a conversation: prompts for generation and pretraining streams use it
// as the masking strategies do.
func EncodeConversation(conv chat.Conversation, tmpl Template, tok Encoder, addGenerationPrompt bool) ([]int32, error) {
	segs, err := tmpl.Render(conv, addGenerationPrompt)
	if err != nil {
		return nil, err
	}
	if err := validate(segs); err != nil {
		return nil, err
	}
	e, err := encode(segs, tok, false)
	if err != nil {
		return nil, err
	}
	return e.ids, nil
}

// BuildAll renders every conversation with tmpl and builds its examples with strategy. A
// conversation that fails names its index; samples that truncation drops (opts.MaxLength) are
// counted in opts.Dropped and not returned. When it drops every sample, BuildAll says so with
// the counts per reason (ErrAllDropped).
func BuildAll(convs []chat.Conversation, tmpl Template, tok Encoder, strategy Strategy, opts Options) ([]Example, error) {
	var out []Example
	var dropped Dropped
	if user := opts.Dropped; user != nil {
		defer func() { user.Add(dropped) }()
	}
	opts.Dropped = &dropped
	for i, c := range convs {
		segs, err := tmpl.Render(c, false)
		if err != nil {
			return nil, fmt.Errorf("conversation %d: %w", i, err)
		}
		exs, err := Build(segs, tok, strategy, opts)
		if err != nil {
			return nil, fmt.Errorf("conversation %d: %w", i, err)
		}
		out = append(out, exs...)
	}
	if len(out) == 0 && dropped.Samples > 0 {
		return nil, fmt.Errorf("%w: max_length %d, %s, of %d conversations (%s): raise max_length or choose another truncation",
			ErrAllDropped, opts.MaxLength, dropped.Reasons(), len(convs), opts.Truncation)
	}
	return out, nil
}
