package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// golden mirrors testdata/golden.json, written by testdata/gen_golden.py with python3-jinja2.
type golden struct {
	Jinja2Version string `json:"jinja2_version"`
	PyWhitespace  []rune `json:"py_whitespace"`
	Cases         []struct {
		Name                string            `json:"name"`
		System              string            `json:"system"`
		Messages            []Message         `json:"messages"`
		AddGenerationPrompt bool              `json:"add_generation_prompt"`
		Rendered            map[string]string `json:"rendered"`
	} `json:"cases"`
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("testdata/golden.json: %v", err)
	}
	if len(g.Cases) < 20 {
		t.Fatalf("golden.json has only %d cases", len(g.Cases))
	}
	return g
}

// TestGolden renders every golden conversation with every template and compares the
// result byte for byte with what Jinja rendered from the model's real chat_template.
func TestGolden(t *testing.T) {
	g := loadGolden(t)
	seen := map[string]int{}
	for _, c := range g.Cases {
		conv := Conversation{System: c.System, Messages: c.Messages}
		for name, want := range c.Rendered {
			tpl, err := Lookup(name)
			if err != nil {
				continue // a checkpoint template without a Go renderer: TestJinjaGolden
			}
			seen[name]++
			segs, err := tpl.Render(conv, c.AddGenerationPrompt)
			if err != nil {
				t.Errorf("%s/%s gen=%v: %v", c.Name, name, c.AddGenerationPrompt, err)
				continue
			}
			if got := Join(segs); got != want {
				t.Errorf("%s/%s gen=%v:\n got %q\nwant %q", c.Name, name, c.AddGenerationPrompt, got, want)
			}
			checkSegments(t, c.Name+"/"+name, tpl, conv, segs)
		}
	}
	for _, name := range Names() {
		if seen[name] == 0 {
			t.Errorf("template %q has no golden strings: add it to gen_golden.py", name)
		}
	}
}

// checkSegments checks the role/turn/kind invariants of a rendering: turns never decrease,
// content segments are substrings of their message, every assistant reply is closed by
// exactly one EndOfTurn segment that ends with the template's EndOfTurn token.
func checkSegments(t *testing.T, where string, tpl Template, conv Conversation, segs []Segment) {
	t.Helper()
	prevTurn := -1
	eot, content := map[int]int{}, map[int]bool{}
	for i, s := range segs {
		if s.Text == "" {
			t.Errorf("%s: segment %d is empty", where, i)
		}
		if s.Turn < prevTurn {
			t.Errorf("%s: segment %d turn %d after turn %d", where, i, s.Turn, prevTurn)
		}
		prevTurn = s.Turn
		switch s.Kind {
		case Content:
			if s.Role == RoleAssistant {
				content[s.Turn] = true
			}
			var src string
			switch {
			case s.Role == RoleSystem && s.Turn == -1:
				src = conv.System
			case s.Turn >= 0 && s.Role == RoleUser && 2*s.Turn < len(conv.Messages):
				src = conv.Messages[2*s.Turn].Content
			case s.Turn >= 0 && s.Role == RoleAssistant && 2*s.Turn+1 < len(conv.Messages):
				src = conv.Messages[2*s.Turn+1].Content
			default:
				t.Errorf("%s: content segment %d has role %q turn %d outside the conversation", where, i, s.Role, s.Turn)
				continue
			}
			// A Jinja template may rewrite a reply (Qwen3 moves its reasoning into a <think>
			// block the template writes): TestMasksFromEveryTemplate checks those.
			jinjaReply := tpl.jinja != nil && s.Role == RoleAssistant
			if !strings.Contains(src, s.Text) && !jinjaReply {
				t.Errorf("%s: content segment %d %q is not part of its message %q", where, i, s.Text, src)
			}
		case ReplyPrefix:
			if s.Role != RoleAssistant || tpl.jinja == nil {
				t.Errorf("%s: ReplyPrefix segment %d has role %q (template %s)", where, i, s.Role, tpl.Name)
			}
		case EndOfTurn:
			if s.Role != RoleAssistant {
				t.Errorf("%s: EndOfTurn segment %d has role %q", where, i, s.Role)
			}
			if !strings.HasSuffix(s.Text, tpl.EndOfTurn) {
				t.Errorf("%s: EndOfTurn segment %d %q does not end with %q", where, i, s.Text, tpl.EndOfTurn)
			}
			eot[s.Turn]++
		}
	}
	for i, m := range conv.Messages {
		// Replies a Jinja template rewrites (see spans.go) are context only: no EndOfTurn.
		rewritten := tpl.jinja != nil && eot[i/2] == 0 && !content[i/2]
		if m.Role == RoleAssistant && eot[i/2] != 1 && !rewritten {
			t.Errorf("%s: assistant reply of turn %d has %d EndOfTurn segments, want 1", where, i/2, eot[i/2])
		}
	}
}

func TestTemplateSourcesMatchTestdata(t *testing.T) {
	for _, name := range Names() {
		tpl, _ := Lookup(name)
		raw, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(raw) != tpl.ChatTemplate {
			t.Errorf("%s: ChatTemplate differs from testdata/templates/%s.jinja", name, name)
		}
	}
}

func TestPyWhitespace(t *testing.T) {
	g := loadGolden(t)
	want := map[rune]bool{}
	for _, r := range g.PyWhitespace {
		want[r] = true
	}
	if len(want) < 20 {
		t.Fatalf("golden py_whitespace has only %d code points", len(want))
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if isPySpace(r) != want[r] {
			t.Errorf("isPySpace(%U) = %v, Python str.isspace says %v", r, isPySpace(r), want[r])
		}
	}
}
