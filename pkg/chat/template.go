package chat

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Template is a model's chat format: its Jinja chat_template (as found in the model's
// tokenizer_config.json), the special tokens it emits, and a renderer that tags every piece
// of the output with its role and turn.
//
// Two kinds exist. A checkpoint's own template (LoadTemplate, FromChatTemplate) is rendered
// by a Jinja engine and its pieces are recovered from renderings (see spans.go: which
// replies are supervised, and why). The built-in templates (Lookup) have a Go renderer
// that reproduces their Jinja source byte for byte; they serve the tiny model and
// checkpoints without a template. The zero Template renders nothing but errors.
type Template struct {
	// Name is the registry name ("deepseek", "deepseek3", "llama3", "chatml", "llama2", "tiny").
	Name string
	// Model says which model family's tokenizer_config.json the template comes from.
	Model string
	// ChatTemplate is the Jinja source of tokenizer_config.json's "chat_template".
	ChatTemplate string
	// BOS is the bos_token the template is rendered with ("" if the template emits none).
	BOS string
	// EOS is the eos_token: generation stops when the model produces it.
	EOS string
	// EndOfTurn is the special token that closes an assistant reply in this format. Segments
	// of kind EndOfTurn end with it; they may begin with literal text the model must also
	// produce (llama2's " </s>").
	EndOfTurn string
	// Pad is a padding token, if the format defines one ("" otherwise).
	Pad string
	// SpecialTokens lists every control token the template emits (BOS, EOS, role markers),
	// for a tokenizer to register as special (added) tokens.
	SpecialTokens []string
	// Vars are extra variables a Jinja template is rendered with, as keyword arguments of
	// transformers' apply_chat_template: {"enable_thinking": false} for Qwen3, or
	// {"tools": json.RawMessage(`[…]`)} (JSON objects keep their key order). Built-in
	// templates render without Jinja and ignore Vars.
	Vars map[string]any

	render func(b *builder, conv Conversation, addGenerationPrompt bool)
	jinja  *jinjaTemplate // set for templates rendered by the Jinja engine
	// userHeader is what a Jinja template writes before a user message that is not the
	// first ("<|im_start|>user\n"), found when the template is loaded.
	userHeader string
}

// Render renders conv as the model's chat_template would with
// add_generation_prompt=addGenerationPrompt, with the system prompt (if any) passed as a
// leading {"role": "system"} message. The concatenation of the segments' Text (see Join)
// equals the Jinja output exactly.
//
// conv.Messages must be non-empty and alternate user, assistant, user, …, starting with a
// user message; it may end with either role. Any other order, or an unknown role, is an
// error.
func (t Template) Render(conv Conversation, addGenerationPrompt bool) ([]Segment, error) {
	if t.render == nil && t.jinja == nil {
		return nil, fmt.Errorf("chat: template %q cannot render (use chat.Lookup or chat.LoadTemplate)", t.Name)
	}
	if err := CheckOrder(conv); err != nil {
		return nil, fmt.Errorf("chat: template %s: %w", t.Name, err)
	}
	if t.render == nil {
		return t.renderJinja(conv, addGenerationPrompt)
	}
	b := &builder{segs: make([]Segment, 0, 4*len(conv.Messages)+4)}
	t.render(b, conv, addGenerationPrompt)
	return b.segs, nil
}

// Apply is Join(Render(conv, addGenerationPrompt)): the rendered prompt as one string.
func (t Template) Apply(conv Conversation, addGenerationPrompt bool) (string, error) {
	segs, err := t.Render(conv, addGenerationPrompt)
	if err != nil {
		return "", err
	}
	return Join(segs), nil
}

// CheckOrder reports whether the messages of conv can be rendered: at least one message,
// roles alternating user/assistant starting with user. The error names the first offending
// message by its 0-based index.
func CheckOrder(conv Conversation) error {
	if len(conv.Messages) == 0 {
		return fmt.Errorf("conversation has no messages")
	}
	for i, m := range conv.Messages {
		want := RoleUser
		if i%2 == 1 {
			want = RoleAssistant
		}
		if m.Role == want {
			continue
		}
		switch m.Role {
		case RoleSystem:
			return fmt.Errorf("message %d: role %q belongs in Conversation.System", i, m.Role)
		case RoleUser, RoleAssistant:
			return fmt.Errorf("message %d: role %q out of order (want %q: roles alternate user/assistant starting with user)", i, m.Role, want)
		default:
			return fmt.Errorf("message %d: unknown role %q", i, m.Role)
		}
	}
	return nil
}

// Join concatenates the Text of segs: the full rendered prompt.
func Join(segs []Segment) string {
	n := 0
	for _, s := range segs {
		n += len(s.Text)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, s := range segs {
		sb.WriteString(s.Text)
	}
	return sb.String()
}

// String returns the kind's name.
func (k SegmentKind) String() string {
	switch k {
	case Control:
		return "Control"
	case Content:
		return "Content"
	case EndOfTurn:
		return "EndOfTurn"
	case ReplyPrefix:
		return "ReplyPrefix"
	}
	return fmt.Sprintf("SegmentKind(%d)", int(k))
}

// registry of templates by name; aliases map other common names to registry names.
var (
	registry = map[string]Template{}
	aliases  = map[string]string{
		"deepseek-llm":  "deepseek",
		"deepseek-chat": "deepseek",
		"deepseek-v3":   "deepseek3",
		"deepseek_v3":   "deepseek3",
		"deepseek-r1":   "deepseek3",
		"qwen":          "chatml",
		"qwen2":         "chatml",
		"llama-3":       "llama3",
		"llama-2":       "llama2",
	}
)

func register(t Template) {
	if _, dup := registry[t.Name]; dup {
		panic("chat: duplicate template " + t.Name) // programming error at init time only
	}
	registry[t.Name] = t
}

// Lookup returns the template registered under name (case-insensitive; a few aliases such as
// "qwen2" and "deepseek-v3" are accepted).
func Lookup(name string) (Template, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[key]; ok {
		key = a
	}
	if t, ok := registry[key]; ok {
		return t, nil
	}
	return Template{}, fmt.Errorf("chat: unknown template %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the registered template names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// builder accumulates segments; empty texts are dropped, so no Segment has empty Text.
type builder struct {
	segs []Segment
}

func (b *builder) add(text string, kind SegmentKind, role string, turn int) {
	if text == "" {
		return
	}
	b.segs = append(b.segs, Segment{Text: text, Kind: kind, Role: role, Turn: turn})
}

// addStripped appends pieces after applying Python's str.strip() to their concatenation,
// as Jinja's `x.strip()` / `x | trim` do on a string built from them. Pieces that become
// empty are dropped.
func (b *builder) addStripped(pieces []Segment) {
	// Left strip.
	for i := range pieces {
		pieces[i].Text = strings.TrimLeftFunc(pieces[i].Text, isPySpace)
		if pieces[i].Text != "" {
			break
		}
	}
	// Right strip.
	for i := len(pieces) - 1; i >= 0; i-- {
		pieces[i].Text = strings.TrimRightFunc(pieces[i].Text, isPySpace)
		if pieces[i].Text != "" {
			break
		}
	}
	for _, p := range pieces {
		b.add(p.Text, p.Kind, p.Role, p.Turn)
	}
}

// pyStrip is Python's str.strip() with no arguments (Jinja's trim filter).
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

// isPySpace reports whether Python's str.isspace() holds for r: Unicode White_Space plus
// the ASCII information separators U+001C..U+001F, which Python also counts.
// (Go strings may hold invalid UTF-8; utf8.RuneError is not whitespace in either language.)
func isPySpace(r rune) bool {
	if r == utf8.RuneError {
		return false
	}
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// turnOf returns the turn index of message i in an alternating user/assistant list.
func turnOf(i int) int { return i / 2 }

// generationTurn is the turn a generation prompt opens after n messages.
func generationTurn(n int) int { return n / 2 }

// endKind is the kind of the piece that closes a message of the given role.
func endKind(role string) SegmentKind {
	if role == RoleAssistant {
		return EndOfTurn
	}
	return Control
}

// TokenizerConfig returns the tokenizer_config.json fields that describe this chat format:
// "chat_template", "bos_token", "eos_token" and, when defined, "pad_token". Tokens the
// format does not use are omitted.
func (t Template) TokenizerConfig() map[string]any {
	cfg := map[string]any{"chat_template": t.ChatTemplate, "eos_token": t.EOS}
	if t.BOS != "" {
		cfg["bos_token"] = t.BOS
	}
	if t.Pad != "" {
		cfg["pad_token"] = t.Pad
	}
	return cfg
}
