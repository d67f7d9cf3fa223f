package chat

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// Span recovery: which characters of a Jinja rendering belong to which message.
//
// A checkpoint's chat_template is a program, not a list of pieces, so Render recovers the
// pieces from renderings (no hand-written segmenter), as TRL and LLaMA-Factory do with
// prefix renderings:
//
//  1. Content: the conversation is rendered again with message j's content replaced by a
//     marker string. The text before the marker and after it, matched against the real
//     rendering (longest common prefix / suffix), delimit what message j's content became
//     (stripped, split, or moved, as the template does).
//  2. End of a message: the conversation up to message j, with the marker as j's content,
//     shows what the template writes after a message when nothing follows; the part of that
//     text found right after j's content in the real rendering closes message j (for an
//     assistant reply: its end-of-turn text, supervised through the end-of-turn token; the
//     rest, e.g. ChatML's "\n", is not). What remains before the next message's content is
//     that message's header ("<|im_start|>user\n"); text before the first message's header
//     (BOS, a default system prompt) belongs to no message, and text after the last message
//     is the generation prompt. A system prompt the template moves after the first message
//     (Mistral's go into the last user message) stays inside the message it joins.
//  3. Rewritten turns: an assistant reply is supervised only when the template renders it in
//     the whole conversation exactly as it renders it when the reply is the last message,
//     after the same generation prompt — that is, as the model produces it at inference.
//     Templates that rewrite earlier replies (Qwen3 drops the <think> block of every reply
//     before the last user message and adds an empty one to the last reply) thus supervise
//     the replies after the last user message only; earlier replies stay in the input as
//     context (Control segments with role "assistant"). To learn from every reply of such a
//     conversation, train on PerReply(conv): one conversation per reply, each rendered as
//     the model saw it.
//  4. What is supervised of a reply is what the model writes after the generation prompt
//     (add_generation_prompt's text), as TRL's prompt/completion split has it: the content,
//     template text between the generation prompt and the content unless it is only
//     whitespace (Qwen3's "<think>\n" before reasoning, or the empty
//     "<think>\n\n</think>\n\n" it writes before a last reply without reasoning: the model
//     must learn to write them), and the end-of-turn text. That template text is a
//     ReplyPrefix segment: supervised, and encoded as template text, so that "<think>"
//     becomes Qwen3's <think> token as in transformers.
//
// Each rendering of a conversation with n messages costs about 3n+2 template executions.

// spanMarker stands in for a message's content; private-use code points that no template
// strips, splits on or escapes.
const spanMarker = "\U000F0001\U000F0002\U000F0003"

type jmsg struct {
	role, content string
	turn          int
}

func (t Template) messages(conv Conversation) []jmsg {
	msgs := make([]jmsg, 0, len(conv.Messages)+1)
	if conv.System != "" {
		msgs = append(msgs, jmsg{RoleSystem, conv.System, -1})
	}
	for i, m := range conv.Messages {
		msgs = append(msgs, jmsg{m.Role, m.Content, turnOf(i)})
	}
	return msgs
}

// execute renders msgs with the template's tokens and variables.
func (t Template) execute(msgs []jmsg, gen bool) (string, error) {
	list := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		d := jinja.NewDict()
		d.AsDict().Set("role", jinja.NewString(m.role))
		d.AsDict().Set("content", jinja.NewString(m.content))
		list[i] = d
	}
	ctx := map[string]jinja.Value{
		"messages":              jinja.NewList(list),
		"add_generation_prompt": jinja.NewBool(gen),
		"tools":                 jinja.None(),
		"documents":             jinja.None(),
	}
	for k, v := range map[string]string{"bos_token": t.BOS, "eos_token": t.EOS, "pad_token": t.Pad} {
		if v != "" {
			ctx[k] = jinja.NewString(v)
		}
	}
	for k, v := range t.Vars {
		jv, err := jinjaValue(v)
		if err != nil {
			return "", fmt.Errorf("chat: template %s: variable %q: %w", t.Name, k, err)
		}
		ctx[k] = jv
	}
	out, err := t.jinja.execute(ctx)
	if err != nil {
		return "", fmt.Errorf("chat: template %s: %w", t.Name, err)
	}
	return out, nil
}

// withMarker returns msgs[:n] with message j's content replaced by the marker.
func withMarker(msgs []jmsg, n, j int) []jmsg {
	out := append([]jmsg(nil), msgs[:n]...)
	out[j].content = spanMarker
	return out
}

// splitAtMarker returns the text before and after the single marker in s.
func splitAtMarker(s string) (before, after string, ok bool) {
	i := strings.Index(s, spanMarker)
	if i < 0 || strings.Count(s, spanMarker) != 1 {
		return "", "", false
	}
	return s[:i], s[i+len(spanMarker):], true
}

// commonPrefix is the length of the longest common prefix of a and b, on a rune boundary.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for n > 0 && n < len(a) && !utf8.RuneStart(a[n]) {
		n--
	}
	return n
}

// commonSuffix is the length of the longest common suffix of a and b, on a rune boundary.
func commonSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	for n > 0 && n < len(a) && !utf8.RuneStart(a[len(a)-n]) {
		n--
	}
	return n
}

// renderJinja renders conv with the Jinja template and recovers its segments.
func (t Template) renderJinja(conv Conversation, gen bool) ([]Segment, error) {
	msgs := t.messages(conv)
	full, err := t.execute(msgs, gen)
	if err != nil {
		return nil, err
	}
	n := len(msgs)
	cs, ce := make([]int, n), make([]int, n) // content spans in full
	prev, b0 := 0, 0                         // b0: end of the text before the first message (BOS)
	if r0, err := t.execute(nil, false); err == nil {
		b0 = commonPrefix(full, r0)
	}
	for j := range msgs {
		s, err := t.execute(withMarker(msgs, n, j), gen)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", j, err)
		}
		before, after, ok := splitAtMarker(s)
		if !ok { // the template does not show this message here
			cs[j], ce[j] = prev, prev
			continue
		}
		start := commonPrefix(full, before)
		end := len(full) - commonSuffix(full, after)
		if start < prev && j == 1 && msgs[0].role == RoleSystem {
			// The template moves the system prompt after the first message (Mistral puts
			// it into the last user message): its text stays in the message it joins.
			cs[0], ce[0], prev = 0, 0, 0
		}
		if start < prev {
			return nil, fmt.Errorf("chat: template %s: message %d is rendered before message %d; cannot tell their spans apart", t.Name, j, j-1)
		}
		cs[j], ce[j] = start, max(start, end)
		prev = ce[j]
	}
	if n > 0 {
		b0 = min(b0, cs[0])
		// Text before the first message's header is no message's (BOS, Qwen2's default
		// system prompt): the header is what the template writes before a later user
		// message (userHeader), or, failing that, what follows a leading bos_token.
		head := full[b0:cs[0]]
		switch {
		case msgs[0].role == RoleUser && t.userHeader != "" && strings.HasSuffix(head, t.userHeader):
			b0 = cs[0] - len(t.userHeader)
		case b0 == 0 && t.BOS != "" && strings.HasPrefix(head, t.BOS):
			b0 = len(t.BOS)
		}
	}
	// bound[j] is where message j's trailer ends (= where message j+1's header begins).
	bound := make([]int, n)
	for j := range msgs {
		limit := len(full)
		if j+1 < n {
			limit = cs[j+1]
		}
		bound[j] = ce[j]
		s, err := t.execute(withMarker(msgs, j+1, j), false)
		if err != nil {
			continue
		}
		if _, trailer, ok := splitAtMarker(s); ok {
			bound[j] = ce[j] + commonPrefix(full[ce[j]:limit], trailer)
		}
	}
	faithful, genLen, err := t.faithfulReplies(msgs, full, bound, b0)
	if err != nil {
		return nil, err
	}
	b := &builder{segs: make([]Segment, 0, 4*n+2)}
	b.add(full[:b0], Control, "", -1)
	start := b0
	for j, m := range msgs {
		role, turn := m.role, m.turn
		contentKind := Content
		if role == RoleAssistant && !faithful[j] {
			contentKind = Control
		}
		if role == RoleAssistant && faithful[j] {
			// After the generation prompt, template text the model writes before the
			// content (Qwen3's "<think>\n") is supervised with it; whitespace is not.
			g := min(start+genLen[j], cs[j])
			b.add(full[start:g], Control, role, turn)
			if gen := full[g:cs[j]]; strings.TrimFunc(gen, isPySpace) != "" {
				b.add(gen, ReplyPrefix, role, turn)
			} else {
				b.add(gen, Control, role, turn)
			}
		} else {
			b.add(full[start:cs[j]], Control, role, turn)
		}
		b.add(full[cs[j]:ce[j]], contentKind, role, turn)
		trailer := full[ce[j]:bound[j]]
		if role == RoleAssistant && faithful[j] {
			eot := t.endOfTurnPiece(trailer)
			if eot == "" {
				return nil, fmt.Errorf("chat: template %s: assistant reply of turn %d is followed by no end-of-turn text (%q)", t.Name, turn, trailer)
			}
			b.add(eot, EndOfTurn, role, turn)
			trailer = trailer[len(eot):]
		}
		b.add(trailer, Control, role, turn)
		start = bound[j]
	}
	b.add(full[start:], Control, "", generationTurn(len(conv.Messages)))
	return b.segs, nil
}

// endOfTurnPiece is the part of an assistant reply's trailer that is supervised: through
// the template's EndOfTurn text when the trailer starts with it, else the trailer without
// its trailing whitespace.
func (t Template) endOfTurnPiece(trailer string) string {
	if t.EndOfTurn != "" {
		if i := strings.Index(trailer, t.EndOfTurn); i >= 0 {
			return trailer[:i+len(t.EndOfTurn)]
		}
	}
	return strings.TrimRightFunc(trailer, isPySpace)
}

// faithfulReplies reports, for each message, whether it is an assistant reply rendered in
// full exactly as the template renders it when it is the last message, after the
// generation prompt (see the package notes on rewritten turns), and the length of that
// generation prompt's text (what add_generation_prompt adds before the reply).
func (t Template) faithfulReplies(msgs []jmsg, full string, bound []int, b0 int) ([]bool, []int, error) {
	out, genLen := make([]bool, len(msgs)), make([]int, len(msgs))
	for j, m := range msgs {
		if m.role != RoleAssistant {
			continue
		}
		prefix, err := t.execute(msgs[:j], false)
		if err != nil {
			continue
		}
		prompt, err := t.execute(msgs[:j], true)
		if err != nil {
			continue
		}
		last, err := t.execute(msgs[:j+1], false)
		if err != nil {
			return nil, nil, fmt.Errorf("message %d: %w", j, err)
		}
		start := b0
		if j > 0 {
			start = bound[j-1]
		}
		out[j] = strings.HasPrefix(prompt, prefix) && strings.HasPrefix(last, prompt) &&
			last[len(prefix):] == full[start:bound[j]]
		if out[j] {
			genLen[j] = len(prompt) - len(prefix)
		}
	}
	return out, genLen, nil
}

// PerReply returns one conversation per assistant reply of conv: the messages up to and
// including that reply. Rendered one by one, each reply appears exactly as the model
// produces it at inference, also with templates that rewrite earlier replies (Qwen3); with
// mask.LastTurnOnly this is method 2 (split per turn) computed from faithful renderings.
func PerReply(conv Conversation) []Conversation {
	var out []Conversation
	for i, m := range conv.Messages {
		if m.Role == RoleAssistant {
			out = append(out, Conversation{System: conv.System, Messages: conv.Messages[: i+1 : i+1]})
		}
	}
	return out
}
