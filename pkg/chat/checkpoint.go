package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokens are the special tokens of a checkpoint's tokenizer_config.json that its
// chat_template is rendered with ("" when the config has none; the template then sees the
// variable undefined, as with transformers).
type Tokens struct {
	BOS, EOS, Pad string
	// EndOfTurn closes an assistant reply; "" finds it from the template (the text the
	// template writes after a final reply, through the first EOS in it, else up to its
	// trailing whitespace).
	EndOfTurn string
}

// FromChatTemplate returns the Template that renders source, a Jinja chat_template, with
// tokens. A template that does not compile, or fails on a plain two-turn conversation, is
// an error.
func FromChatTemplate(name, source string, tokens Tokens) (Template, error) {
	if strings.TrimSpace(source) == "" {
		return Template{}, fmt.Errorf("chat: template %s: empty chat_template", name)
	}
	jt, err := compileJinja(source)
	if err != nil {
		return Template{}, fmt.Errorf("chat: template %s: chat_template does not compile: %w", name, err)
	}
	t := Template{Name: name, ChatTemplate: source, BOS: tokens.BOS, EOS: tokens.EOS, Pad: tokens.Pad,
		EndOfTurn: tokens.EndOfTurn, jinja: jt}
	if t.EndOfTurn == "" {
		probe := []jmsg{{RoleUser, "Hi", 0}, {RoleAssistant, spanMarker, 0}}
		s, err := t.execute(probe, false)
		if err != nil {
			return Template{}, fmt.Errorf("chat: template %s: cannot render a two-turn conversation: %w", name, err)
		}
		_, trailer, ok := splitAtMarker(s)
		if !ok {
			return Template{}, fmt.Errorf("chat: template %s: an assistant reply's content does not appear in the rendering", name)
		}
		t.EndOfTurn = strings.TrimRightFunc(trailer, isPySpace)
		if t.EOS != "" {
			if i := strings.Index(trailer, t.EOS); i >= 0 {
				t.EndOfTurn = trailer[:i+len(t.EOS)]
			}
		}
		if t.EndOfTurn == "" {
			return Template{}, fmt.Errorf("chat: template %s: nothing follows an assistant reply, so the model could not learn to stop (set Tokens.EndOfTurn)", name)
		}
	}
	probe := Conversation{Messages: []Message{{RoleUser, "Hi"}, {RoleAssistant, "Hello"}, {RoleUser, "Bye"}}}
	for _, gen := range []bool{true, false} {
		segs, err := t.Render(probe, gen)
		if err != nil {
			return Template{}, err
		}
		for i, s := range segs {
			if s.Kind == Content && s.Role == RoleUser && s.Turn == 1 && i > 0 && segs[i-1].Role == RoleUser {
				t.userHeader = segs[i-1].Text
			}
		}
	}
	for _, s := range []string{t.BOS, t.EOS, t.EndOfTurn, t.Pad} {
		if s != "" && !containsString(t.SpecialTokens, s) {
			t.SpecialTokens = append(t.SpecialTokens, s)
		}
	}
	return t, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Jinja returns t rendered by the Jinja engine from its ChatTemplate source, with spans
// recovered from renderings instead of t's Go renderer (for built-in templates: a check
// that both agree).
func (t Template) Jinja() (Template, error) {
	j, err := FromChatTemplate(t.Name, t.ChatTemplate, Tokens{BOS: t.BOS, EOS: t.EOS, Pad: t.Pad, EndOfTurn: t.EndOfTurn})
	if err != nil {
		return Template{}, err
	}
	j.Model, j.SpecialTokens, j.Vars = t.Model, t.SpecialTokens, t.Vars
	return j, nil
}

// ErrNoChatTemplate is returned by LoadTemplate for a checkpoint without a chat template.
var ErrNoChatTemplate = errors.New("chat: checkpoint has no chat template")

// LoadTemplate returns the chat template of the checkpoint in dir: chat_template.jinja
// when present (where recent transformers save it), else tokenizer_config.json's
// "chat_template" (a string, or a list of named templates of which "default" is taken),
// rendered with the config's bos_token, eos_token and pad_token (strings or AddedToken
// objects). A checkpoint without a template gives an error wrapping ErrNoChatTemplate; a
// template the engine cannot render is an error naming the file. A template identical to a
// built-in one, with the same tokens, renders with the built-in's Go renderer.
func LoadTemplate(dir string) (Template, error) {
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
		Pad          json.RawMessage `json:"pad_token"`
	}
	raw, err := os.ReadFile(cfgPath)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return Template{}, fmt.Errorf("chat: %s: %w", cfgPath, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return Template{}, fmt.Errorf("chat: %w", err)
	}
	var tokens Tokens
	for _, f := range []struct {
		key string
		raw json.RawMessage
		dst *string
	}{{"bos_token", cfg.BOS, &tokens.BOS}, {"eos_token", cfg.EOS, &tokens.EOS}, {"pad_token", cfg.Pad, &tokens.Pad}} {
		if *f.dst, err = tokenContent(f.raw); err != nil {
			return Template{}, fmt.Errorf("chat: %s: field %q: %w", cfgPath, f.key, err)
		}
	}
	source, from := "", cfgPath
	jinjaPath := filepath.Join(dir, "chat_template.jinja")
	if b, err := os.ReadFile(jinjaPath); err == nil {
		source, from = string(b), jinjaPath
	} else if !errors.Is(err, os.ErrNotExist) {
		return Template{}, fmt.Errorf("chat: %w", err)
	} else if source, err = namedTemplate(cfg.ChatTemplate); err != nil {
		return Template{}, fmt.Errorf("chat: %s: field \"chat_template\": %w", cfgPath, err)
	}
	if source == "" {
		return Template{}, fmt.Errorf("%w: %s has neither chat_template.jinja nor a \"chat_template\" in tokenizer_config.json (choose a built-in one with chat.Lookup)", ErrNoChatTemplate, dir)
	}
	t, err := FromChatTemplate(filepath.Base(dir), source, tokens)
	if err != nil {
		return Template{}, fmt.Errorf("%s: %w", from, err)
	}
	t.Model = dir
	// A template identical to a built-in one (DeepSeek-V3's, Llama 3's) renders with its Go
	// renderer: the same text, about a thousand times faster (TestRecoveredSpansMatchBuiltins).
	for _, b := range registry {
		if b.ChatTemplate == source && b.BOS == tokens.BOS && b.EOS == tokens.EOS && b.EndOfTurn == t.EndOfTurn {
			t.render = b.render
		}
	}
	return t, nil
}

// tokenContent reads a special token given as a string, an AddedToken object or null.
func tokenContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", fmt.Errorf("neither a string nor an AddedToken object")
	}
	return *obj.Content, nil
}

// namedTemplate reads "chat_template": a string, or a list of {name, template} of which the
// one named "default" is used (else the first).
func namedTemplate(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", fmt.Errorf("neither a string nor a list of named templates")
	}
	for i, t := range named {
		if t.Name == "default" || i == 0 {
			s = t.Template
		}
	}
	return s, nil
}

// MismatchError reports that a chosen template renders a conversation differently from
// the checkpoint's own: fine-tuning on it teaches a format the model was not trained with.
type MismatchError struct {
	Chosen, Own string // template names
	Case        string // which probe conversation differs
	Got, Want   string // the chosen and the checkpoint's renderings
}

func (e *MismatchError) Error() string {
	i := commonPrefix(e.Got, e.Want)
	return fmt.Sprintf("chat: template %q renders differently from the checkpoint's own %q (%s, from byte %d: %q vs %q); train with the checkpoint's template unless you mean to change its format",
		e.Chosen, e.Own, e.Case, i, clip(e.Got[i:]), clip(e.Want[i:]))
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// Compare renders probe conversations (with and without a system prompt and a generation
// prompt) with t and with own, the checkpoint's template, and returns a *MismatchError for
// the first one where they differ, nil when they agree.
func (t Template) Compare(own Template) error {
	probes := []struct {
		name string
		conv Conversation
	}{
		{"no system prompt", Conversation{Messages: []Message{{RoleUser, "Hi"}, {RoleAssistant, "Hello!"}, {RoleUser, "你好"}, {RoleAssistant, "你好！"}}}},
		{"with a system prompt", Conversation{System: "Be brief.", Messages: []Message{{RoleUser, "Hi"}, {RoleAssistant, "Hello!"}}}},
	}
	for _, p := range probes {
		for _, gen := range []bool{false, true} {
			conv := p.conv
			if gen {
				conv.Messages = conv.Messages[:len(conv.Messages)-1]
			}
			got, err := t.Apply(conv, gen)
			if err != nil {
				return err
			}
			want, err := own.Apply(conv, gen)
			if err != nil {
				continue // the checkpoint's template refuses this shape (e.g. no system role)
			}
			if got != want {
				c := p.name
				if gen {
					c += ", generation prompt"
				}
				return &MismatchError{Chosen: t.Name, Own: own.Name, Case: c, Got: got, Want: want}
			}
		}
	}
	return nil
}

// ForCheckpoint picks the template to train and chat with for the checkpoint in dir. With
// name "" it is the checkpoint's own (LoadTemplate; an error when it has none). With a
// built-in name (Lookup) it is that template; when the checkpoint has its own template
// and the two render differently, mismatch is a *MismatchError saying where — a warning:
// the returned template is usable, the caller decides.
func ForCheckpoint(dir, name string) (t Template, mismatch error, err error) {
	own, ownErr := LoadTemplate(dir)
	if name == "" {
		return own, nil, ownErr
	}
	t, err = Lookup(name)
	if err != nil {
		return Template{}, nil, err
	}
	switch {
	case errors.Is(ownErr, ErrNoChatTemplate):
		return t, nil, nil
	case ownErr != nil:
		return t, fmt.Errorf("chat: cannot compare %q with the checkpoint's template: %w", t.Name, ownErr), nil
	}
	return t, t.Compare(own), nil
}
