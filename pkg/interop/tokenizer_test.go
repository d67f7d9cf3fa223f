package interop

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// conversations are the dialogues rendered by both sides: real ones from FastChat's ShareGPT
// sample (../shared/data) and written ones with a system prompt, Chinese, emoji, code and
// whitespace at the edges.
func conversations(t *testing.T) []chat.Conversation {
	t.Helper()
	convs := []chat.Conversation{
		{System: "你是一个乐于助人的助手。You are helpful.", Messages: []chat.Message{
			{Role: "user", Content: "用一句话解释 LoRA。"},
			{Role: "assistant", Content: "LoRA 冻结原权重，只训练低秩矩阵 A 和 B。🙂"},
			{Role: "user", Content: "  And in English?\n"},
			{Role: "assistant", Content: "It trains a low-rank update B·A beside frozen weights.\n\n```go\ny := W.x + B.(A.x)\n```"},
		}},
		{Messages: []chat.Message{{Role: "user", Content: "Hi"}}},
		{Messages: []chat.Message{{Role: "user", Content: "tabs\tand  spaces  "}, {Role: "assistant", Content: " leading space"}}},
	}
	shared := filepath.Join("..", "..", "..", "shared", "data", "fastchat_dummy_conversation.json")
	real, _, err := data.ImportJSON(shared)
	if err != nil {
		t.Fatalf("reading FastChat's sample: %v", err)
	}
	for _, c := range real {
		if len(convs) >= 15 {
			break
		}
		if chat.CheckOrder(c) == nil {
			convs = append(convs, c)
		}
	}
	return convs
}

func messagesOf(c chat.Conversation) []chat.Message {
	var ms []chat.Message
	if c.System != "" {
		ms = append(ms, chat.Message{Role: chat.RoleSystem, Content: c.System})
	}
	return append(ms, c.Messages...)
}

// TestAutoTokenizerRendersOurTemplates saves, for every chat template LoRA Lab knows, a
// tokenizer trained by LoRA Lab's BPE trainer with that template and its special tokens (plus
// the committed tiny base's tokenizer), has transformers' AutoTokenizer load each, and checks
// that apply_chat_template renders exactly what chat.Template.Apply renders (with and without
// the generation prompt), that the template string transformers applies is ours, and that
// transformers (the Rust tokenizers library) encodes texts and rendered chats to our ids.
func TestAutoTokenizerRendersOurTemplates(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	convs := conversations(t)
	var corpus, texts []string
	for _, c := range convs {
		corpus = append(corpus, c.System)
		for _, m := range c.Messages {
			corpus = append(corpus, m.Content)
		}
	}
	texts = append(texts, corpus[:12]...)
	texts = append(texts, "trailing spaces  ", "数字 12345 和 emoji 🚀🚀", "a\n\n\nb\r\nc")

	type task struct {
		ID            string           `json:"id"`
		Dir           string           `json:"dir"`
		Conversations [][]chat.Message `json:"conversations"`
		Texts         []string         `json:"texts"`
	}
	type side struct {
		tmpl chat.Template
		tok  *tokenizer.Tokenizer
		conv []chat.Conversation
	}
	var tasks []task
	sides := map[string]side{}
	add := func(id, d string, tmpl chat.Template, tok *tokenizer.Tokenizer) {
		var msgs [][]chat.Message
		var cs []chat.Conversation
		for _, c := range convs {
			if _, err := tmpl.Render(c, false); err != nil {
				t.Logf("%s: LoRA Lab does not render conversation %d (%v): left out", id, len(cs), err)
				continue
			}
			cs = append(cs, c)
			msgs = append(msgs, messagesOf(c))
		}
		tasks = append(tasks, task{ID: id, Dir: d, Conversations: msgs, Texts: texts})
		sides[id] = side{tmpl, tok, cs}
	}

	tinyDir := filepath.Join("..", "..", "datasets", "tiny_base")
	tiny, err := tokenizer.Load(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	tinyTmpl, err := chat.Lookup("tiny")
	if err != nil {
		t.Fatal(err)
	}
	add("tiny_base", tinyDir, tinyTmpl, tiny)
	for _, name := range chat.Names() {
		tmpl, _ := chat.Lookup(name)
		tok, err := tokenizer.TrainBPE(corpus, 600, tmpl.SpecialTokens)
		if err != nil {
			t.Fatalf("%s: training: %v", name, err)
		}
		tok.SetChatTemplate(tmpl.ChatTemplate)
		if err := tok.SetSpecialTokens(tmpl.BOS, tmpl.EOS, tmpl.Pad); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := filepath.Join(dir, "tok_"+name)
		if err := tok.Save(d); err != nil {
			t.Fatal(err)
		}
		add(name, d, tmpl, tok)
	}
	writeJSON(t, filepath.Join(dir, "job.json"), map[string]any{"tasks": tasks})
	out := filepath.Join(dir, "out")
	runPython(t, py, "hf_interop.py", "tokenizer", filepath.Join(dir, "job.json"), out)

	var res struct {
		Versions map[string]string `json:"versions"`
		Cases    map[string]struct {
			Class        string   `json:"class"`
			Renders      []string `json:"renders"`
			RendersGen   []string `json:"renders_gen"`
			IDs          [][]int  `json:"ids"`
			ChatIDs      [][]int  `json:"chat_ids"`
			BOS          *string  `json:"bos_token"`
			EOS          *string  `json:"eos_token"`
			ChatTemplate string   `json:"chat_template"`
		} `json:"cases"`
	}
	readJSON(t, filepath.Join(out, "tokenizer.json"), &res)
	t.Logf("rendered by %v", res.Versions)
	for _, tk := range tasks {
		t.Run(tk.ID, func(t *testing.T) {
			s, r := sides[tk.ID], res.Cases[tk.ID]
			if len(r.Renders) != len(s.conv) || len(r.IDs) != len(texts) {
				t.Fatalf("Python returned %d renders and %d encodings, want %d and %d", len(r.Renders), len(r.IDs), len(s.conv), len(texts))
			}
			if r.ChatTemplate != s.tmpl.ChatTemplate {
				t.Errorf("the chat_template transformers applies is not chat.Lookup(%q).ChatTemplate:\nHF   %q\nours %q", s.tmpl.Name, r.ChatTemplate, s.tmpl.ChatTemplate)
			}
			if r.EOS == nil || *r.EOS != s.tmpl.EOS {
				t.Errorf("eos_token: transformers %v, template %q", r.EOS, s.tmpl.EOS)
			}
			for i, c := range s.conv {
				want, err := s.tmpl.Apply(c, false)
				if err != nil {
					t.Fatal(err)
				}
				if r.Renders[i] != want {
					t.Errorf("conversation %d: apply_chat_template renders\n%q\nLoRA Lab renders\n%q", i, r.Renders[i], want)
				}
				prompt := c
				if n := len(c.Messages); c.Messages[n-1].Role == chat.RoleAssistant {
					prompt.Messages = c.Messages[:n-1]
				}
				if len(prompt.Messages) > 0 {
					wantGen, err := s.tmpl.Apply(prompt, true)
					if err != nil {
						t.Fatal(err)
					}
					if r.RendersGen[i] != wantGen {
						t.Errorf("conversation %d, add_generation_prompt: transformers\n%q\nLoRA Lab\n%q", i, r.RendersGen[i], wantGen)
					}
				}
				if got := s.tok.EncodeSpecial(want); !slices.Equal(got, r.ChatIDs[i]) {
					t.Errorf("conversation %d: apply_chat_template(tokenize=True) ids differ from ours\nHF   %v\nours %v", i, r.ChatIDs[i], got)
				}
			}
			for i, text := range texts {
				if got := s.tok.EncodeSpecial(text); !slices.Equal(got, r.IDs[i]) {
					t.Errorf("text %q: transformers %v, LoRA Lab %v", text, r.IDs[i], got)
				}
			}
			if !t.Failed() {
				t.Logf("%s (%s): %d conversations and %d texts agree", tk.ID, r.Class, len(s.conv), len(texts))
			}
		})
	}
}
