package chat

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ardanlabs/jinja"
)

// goldenTokens is golden.json's "tokens": the special tokens each template is rendered with.
type goldenTokens map[string]map[string]string

// goldenContext is one of golden.json's "contexts": a whole Jinja context (tools, tool
// calls, extra variables) rendered by one template.
type goldenContext struct {
	Name     string                     `json:"name"`
	Template string                     `json:"template"`
	Context  map[string]json.RawMessage `json:"context"`
	Rendered string                     `json:"rendered"`
}

func loadGoldenExtra(t *testing.T) (goldenTokens, []goldenContext) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Tokens   goldenTokens    `json:"tokens"`
		Contexts []goldenContext `json:"contexts"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("testdata/golden.json: %v", err)
	}
	return g.Tokens, g.Contexts
}

// jinjaTemplates compiles every template of testdata/templates with the Jinja engine.
func jinjaTemplates(t *testing.T) map[string]Template {
	t.Helper()
	tokens, _ := loadGoldenExtra(t)
	if len(tokens) < 8 {
		t.Fatalf("golden.json has tokens for only %d templates", len(tokens))
	}
	out := map[string]Template{}
	for name, tok := range tokens {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := FromChatTemplate(name, string(src), Tokens{BOS: tok["bos_token"], EOS: tok["eos_token"]})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = tpl
	}
	return out
}

// TestJinjaGolden renders every golden conversation with every template through the Go
// Jinja engine — the real templates of DeepSeek-V3, deepseek-llm-7b-chat, Qwen3, Llama 3.x
// and Gemma 3 among them — and compares byte for byte with python3-jinja2's output.
func TestJinjaGolden(t *testing.T) {
	g := loadGolden(t)
	tpls := jinjaTemplates(t)
	seen := map[string]int{}
	for _, c := range g.Cases {
		conv := Conversation{System: c.System, Messages: c.Messages}
		for name, want := range c.Rendered {
			seen[name]++
			tpl := tpls[name]
			segs, err := tpl.Render(conv, c.AddGenerationPrompt)
			if err != nil {
				t.Errorf("%s/%s gen=%v: %v", c.Name, name, c.AddGenerationPrompt, err)
				continue
			}
			if got := Join(segs); got != want {
				t.Errorf("%s/%s gen=%v:\n got %q\nwant %q", c.Name, name, c.AddGenerationPrompt, got, want)
			}
			checkSegments(t, fmt.Sprintf("%s/%s(jinja) gen=%v", c.Name, name, c.AddGenerationPrompt), tpl, conv, segs)
		}
	}
	for name := range tpls {
		if seen[name] < 20 {
			t.Errorf("template %q has only %d golden strings", name, seen[name])
		}
	}
}

// TestJinjaContexts renders golden contexts beyond plain conversations (Qwen3 tools and
// tool calls, reasoning_content, enable_thinking; Gemma 3 content parts; DeepSeek-V3 tool
// calls and outputs) and compares with python3-jinja2.
func TestJinjaContexts(t *testing.T) {
	tokens, contexts := loadGoldenExtra(t)
	if len(contexts) < 8 {
		t.Fatalf("golden.json has only %d contexts", len(contexts))
	}
	for _, c := range contexts {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", c.Template+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		jt, err := compileJinja(string(src))
		if err != nil {
			t.Fatalf("%s: %v", c.Template, err)
		}
		ctx := map[string]jinja.Value{"tools": jinja.None(), "documents": jinja.None()}
		for k, v := range tokens[c.Template] {
			ctx[k] = jinja.NewString(v)
		}
		for k, raw := range c.Context {
			if ctx[k], err = jinjaValue(raw); err != nil {
				t.Fatalf("%s: %s: %v", c.Name, k, err)
			}
		}
		got, err := jt.execute(ctx)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if got != c.Rendered {
			t.Errorf("%s:\n got %q\nwant %q", c.Name, got, c.Rendered)
		}
	}
}

func TestRewriteJinja(t *testing.T) {
	ws := "(" + pyWhitespaceVar + ")"
	tests := []struct{ in, want string }{
		{"{{ x | trim }}", "{{ x | trim" + ws + " }}"},
		{"{{ x|trim + 'a' }}", "{{ x|trim" + ws + " + 'a' }}"},
		{"{% set c = m['content'] | trim %}", "{% set c = m['content'] | trim" + ws + " %}"},
		{"{{ x | trim('ab') }}", "{{ x | trim('ab') }}"},
		{"{{ x | trimmed }}", "{{ x | trimmed }}"},
		{"{{ '| trim' }} | trim", "{{ '| trim' }} | trim"},
		{"{# x | trim #}", "{# x | trim #}"},
		{"{%- generation -%}a{% endgeneration %}", "{%- if true -%}a{% endif %}"},
		{"{ x | trim }", "{ x | trim }"},
	}
	for _, tc := range tests {
		if got := rewriteJinja(tc.in); got != tc.want {
			t.Errorf("rewriteJinja(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// mergeSegments joins adjacent segments of equal kind, role and turn.
func mergeSegments(segs []Segment) []Segment {
	var out []Segment
	for _, s := range segs {
		if n := len(out); n > 0 && out[n-1].Kind == s.Kind && out[n-1].Role == s.Role && out[n-1].Turn == s.Turn {
			out[n-1].Text += s.Text
			continue
		}
		out = append(out, s)
	}
	return out
}

// TestRecoveredSpansMatchBuiltins: for every built-in template and golden conversation, the
// segments recovered from Jinja renderings equal the hand-written renderer's (adjacent
// pieces of the same kind, role and turn merged), except for two documented differences in
// unsupervised text: ChatML's default system prompt is recovered as text before the first
// message (role "", turn -1, like BOS) rather than as a system message; and
// Llama 2's system prompt, folded into the first user message, has "[INST] " in its
// header and "\n<</SYS>>\n\n" in the user message's header.
func TestRecoveredSpansMatchBuiltins(t *testing.T) {
	g := loadGolden(t)
	for _, name := range Names() {
		hand, _ := Lookup(name)
		jt, err := hand.Jinja()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range g.Cases {
			if _, ok := c.Rendered[name]; !ok {
				continue
			}
			conv := Conversation{System: c.System, Messages: c.Messages}
			want, err := hand.Render(conv, c.AddGenerationPrompt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jt.Render(conv, c.AddGenerationPrompt)
			if err != nil {
				t.Errorf("%s/%s: %v", name, c.Name, err)
				continue
			}
			want = mergeSegments(knownDifferences(name, conv, mergeSegments(want)))
			got = mergeSegments(got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s/%s gen=%v:\n got %+v\nwant %+v", name, c.Name, c.AddGenerationPrompt, got, want)
			}
		}
	}
}

// knownDifferences rewrites hand-written segments into what span recovery gives for the
// two unsupervised pieces described in TestRecoveredSpansMatchBuiltins.
func knownDifferences(name string, conv Conversation, segs []Segment) []Segment {
	switch {
	case name == "chatml" && conv.System == "" && len(segs) > 1 && segs[0].Role == RoleSystem:
		segs[0].Role = ""
	case name == "llama2" && conv.System != "" && len(segs) > 3 && segs[0].Role == "":
		segs[0].Text, segs[1].Text = "<s>", "[INST] "+segs[1].Text
		segs[3].Role, segs[3].Turn = RoleUser, 0
	}
	return segs
}

// TestQwen3Supervision spells out which replies of a Qwen3 conversation are supervised:
// only those after the last user message, since the template rewrites earlier replies
// (drops their <think> block) — and with PerReply every reply, each as generated. What the
// model writes after the generation prompt is supervised, the template's "<think>\n" (or
// the empty think block it adds to a last reply without reasoning) included.
func TestQwen3Supervision(t *testing.T) {
	tpl := jinjaTemplates(t)["qwen3"]
	conv := Conversation{Messages: []Message{
		{RoleUser, "2+3?"}, {RoleAssistant, "<think>\nadd\n</think>\n\n5"},
		{RoleUser, "times 2?"}, {RoleAssistant, "10"},
	}}
	supervised := func(c Conversation) []string {
		segs, err := tpl.Render(c, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range segs {
			if s.Role == RoleAssistant && s.Kind != Control {
				out = append(out, fmt.Sprintf("%d:%s:%q", s.Turn, s.Kind, s.Text))
			}
		}
		return out
	}
	got := supervised(conv)
	want := []string{`1:ReplyPrefix:"<think>\n\n</think>\n\n"`, `1:Content:"10"`, `1:EndOfTurn:"<|im_end|>"`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("whole conversation: supervised %q, want %q", got, want)
	}
	var per []string
	for _, c := range PerReply(conv) {
		per = append(per, supervised(c)...)
	}
	want = []string{`0:ReplyPrefix:"<think>\n"`, `0:Content:"add\n</think>\n\n5"`, `0:EndOfTurn:"<|im_end|>"`,
		`1:ReplyPrefix:"<think>\n\n</think>\n\n"`, `1:Content:"10"`, `1:EndOfTurn:"<|im_end|>"`}
	if fmt.Sprint(per) != fmt.Sprint(want) {
		t.Errorf("PerReply: supervised %q, want %q", per, want)
	}
	if !strings.Contains(tpl.EndOfTurn, "<|im_end|>") {
		t.Errorf("EndOfTurn = %q", tpl.EndOfTurn)
	}
}

// TestVars: Template.Vars reach the template as apply_chat_template's keyword arguments
// (Qwen3's enable_thinking=false writes an empty think block into the generation prompt).
func TestVars(t *testing.T) {
	_, contexts := loadGoldenExtra(t)
	tpl := jinjaTemplates(t)["qwen3"]
	tpl.Vars = map[string]any{"enable_thinking": false}
	for _, c := range contexts {
		if c.Name != "qwen3_no_thinking" {
			continue
		}
		got, err := tpl.Apply(Conversation{Messages: []Message{{RoleUser, "hi"}}}, true)
		if err != nil || got != c.Rendered {
			t.Errorf("enable_thinking=false: %q, %v; want %q", got, err, c.Rendered)
		}
		return
	}
	t.Fatal("golden context qwen3_no_thinking missing")
}

// BenchmarkRenderJinja: rendering with span recovery costs about 3n+2 template executions
// for n messages.
func BenchmarkRenderJinja(b *testing.B) {
	conv := benchConversation()
	tokens := map[string]Tokens{"qwen3": {EOS: "<|im_end|>"}, "gemma3": {BOS: "<bos>", EOS: "<end_of_turn>"},
		"deepseek3": {BOS: DeepSeekBOS, EOS: DeepSeekEOS}, "llama3_1": {BOS: "<|begin_of_text|>", EOS: "<|eot_id|>"}}
	for _, name := range []string{"deepseek3", "gemma3", "llama3_1", "qwen3"} {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
		if err != nil {
			b.Fatal(err)
		}
		tpl, err := FromChatTemplate(name, string(src), tokens[name])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) { benchRender(b, tpl, conv) })
	}
}

// FuzzRenderJinja: any valid conversation renders through every real template to segments
// that join to the Jinja output, in order, never a panic.
func FuzzRenderJinja(f *testing.F) {
	f.Add("", "hi", "hello", "again", true)
	f.Add("系统", "  你好 ", "<think>\nx\n</think>\n\ny", "\x1c", false)
	f.Add("s", "", "", "", true)
	f.Add("", spanMarker, "</think>", "<|im_end|>", false)
	f.Add("\n", "\xff\xfe", " ", "<｜end▁of▁sentence｜>", true)
	tpls := map[string]Template{}
	f.Fuzz(func(t *testing.T, system, q, a, q2 string, gen bool) {
		if len(tpls) == 0 {
			tpls = jinjaTemplates(t)
		}
		conv := Conversation{System: system, Messages: []Message{{RoleUser, q}, {RoleAssistant, a}, {RoleUser, q2}}}
		for name, tpl := range tpls {
			for _, n := range []int{2, 3} {
				c := conv
				c.Messages = c.Messages[:n]
				segs, err := tpl.Render(c, gen)
				if err != nil {
					continue // a template may refuse (raise_exception); it must not panic
				}
				want, err := tpl.execute(tpl.messages(c), gen)
				if err != nil || Join(segs) != want {
					t.Fatalf("%s: segments join to %q, Jinja gives %q (%v)", name, Join(segs), want, err)
				}
				prev := -1
				for i, s := range segs {
					if s.Text == "" || s.Turn < prev {
						t.Fatalf("%s: segment %d %+v (previous turn %d)", name, i, s, prev)
					}
					prev = s.Turn
				}
			}
		}
	})
}

// A template with transformers' {% generation %} markers renders as without them, and its
// spans are recovered the same way.
func TestGenerationMarkers(t *testing.T) {
	plain := "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}{% if m.role == 'assistant' %}{% generation %}{{ m.content + '<|im_end|>' }}{% endgeneration %}{% else %}{{ m.content + '<|im_end|>' }}{% endif %}{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
	marked, err := FromChatTemplate("marked", plain, Tokens{EOS: "<|im_end|>"})
	if err != nil {
		t.Fatal(err)
	}
	chatml, _ := Lookup("chatml")
	conv := Conversation{System: "S", Messages: []Message{{RoleUser, "q"}, {RoleAssistant, "a"}, {RoleUser, "q2"}, {RoleAssistant, "b"}}}
	got, err := marked.Render(conv, false)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := chatml.Render(conv, false)
	if fmt.Sprint(mergeSegments(got)) != fmt.Sprint(mergeSegments(want)) {
		t.Errorf("segments\n got %+v\nwant %+v", mergeSegments(got), mergeSegments(want))
	}
}

// A template that moves the system prompt into the last user message (as Mistral's do)
// renders; the system text stays unsupervised inside that message.
func TestSystemPromptMoved(t *testing.T) {
	src := "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}{% if loop.revindex0 <= 1 and messages[0].role == 'system' %}{{ '[INST] ' + messages[0].content + '\\n\\n' + m.content + '[/INST]' }}{% else %}{{ '[INST] ' + m.content + '[/INST]' }}{% endif %}{% elif m.role == 'assistant' %}{{ m.content + eos_token }}{% endif %}{% endfor %}"
	tpl, err := FromChatTemplate("moved", src, Tokens{BOS: "<s>", EOS: "</s>"})
	if err != nil {
		t.Fatal(err)
	}
	conv := Conversation{System: "SYS", Messages: []Message{{RoleUser, "q"}, {RoleAssistant, "a"}, {RoleUser, "q2"}, {RoleAssistant, "b"}}}
	segs, err := tpl.Render(conv, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Join(segs), "<s>[INST] q[/INST]a</s>[INST] SYS\n\nq2[/INST]b</s>"; got != want {
		t.Fatalf("rendered %q, want %q", got, want)
	}
	var sup []string
	for _, s := range segs {
		if s.Supervised() {
			sup = append(sup, s.Text)
		}
	}
	if fmt.Sprint(sup) != "[a </s> b </s>]" {
		t.Errorf("supervised %q", sup)
	}
	checkSegments(t, "moved", tpl, conv, segs)
}
