//go:build ignore

// gen_corpus writes corpus.json, the strings every tokenizer family is checked on against
// @lenml/tokenizers (see gen_golden.mjs): the hand-written lines of corpus.txt, cases that
// broke tokenizers before (rare CJK, \r, NBSP, U+3000, HTML tags, ignore_merges words), the
// whole of corpus.txt as one text, and messages sampled from the project's datasets and from
// ../shared/data. Run from the repository root:
//
//	go run pkg/tokenizer/testdata/gen_corpus.go
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
)

// extra lines that corpus.txt (one line per string) cannot hold, and the cases of issue 13.
var extra = []string{
	"Hello, world!",
	" Hello",
	"  two leading spaces",
	"𠮷野家 and 𠮷",
	"咴儿咴儿地叫",
	"line one\r\nline two\r\n",
	"carriage\rreturn",
	"no\u00a0break\u00a0space",
	"全角\u3000空格\u3000",
	"\u3000\u3000首行缩进",
	"<div class=\"x\">内容</div>",
	"<table><tr><td>1</td></tr></table>",
	"<strong>bold</strong> <em>em</em> <code>x := 1</code>",
	"Tiếng Việt có dấu",
	"Tiếng Việt",
	"ſtraße ﬁnal ǅ Ⅻ ①",
	"e\u0301 vs é (NFC)",
	"\t\tindented with tabs\n\t\t\tand more",
	"a\n\n\nb\n\n\n\n\nc",
	"trailing newlines\n\n",
	"    ",
	"\n",
	"x",
	"🙂🙃🫠🫶🏿",
	"zero\u200bwidth\u200djoiner",
	"\ufeffBOM at start",
	"mixed: 中文English混合Русский123abc",
	"if (a &&b) { return a<<2 | b>>1; } // ok",
	"```python\nprint('hi')\n```",
	"数学：∫₀¹ x² dx = ⅓，α+β≠γ",
	"Ünïcödé àccénts ÀÉÎÕÜ",
	"ÿ þ ð æ ø å ß",
	"…“quotes”‘single’—dash",
	"1234567890123456789",
	"3.14159265358979",
	"   leading and trailing   ",
	"Don't stop; can't won't shouldn't",
}

var mixPieces = []string{"a", "b", "Hello", "world", "the", " ", "  ", "   ", "\t", "\n", "\r\n", "\r",
	"\u00a0", "\u3000", "\u2003", "\ufeff", "中", "文", "咴", "𠮷", "😀", "👍🏽", "é", "e\u0301", "'s", "'S",
	"'ll", "123", "4567", "3.14", "-", "—", "…", "<div>", "</div>", "<", "/>", "▁", "▁▁", "<0x41>", "```",
	"\\", "\"", "{", "}", "Tiếng", "Việt", "ﬁ", "Ⅻ", "ß", "İ", "ǅ", "\u200b", "\u200d", "ا", "ب", "א",
	"ש", "क", "ि", "ñ", "Ω", "ω", "ς", "Σ"}

func main() {
	log.SetFlags(0)
	here := filepath.Join("pkg", "tokenizer", "testdata")
	hand, err := os.ReadFile(filepath.Join(here, "corpus.txt"))
	if err != nil {
		log.Fatal(err)
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] && utf8.ValidString(s) {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(hand), "\n"), "\n") {
		add(l)
	}
	for _, s := range extra {
		add(s)
	}
	add(string(hand))
	// Random joins of tricky pieces: scripts, whitespace kinds, combining marks, apostrophe
	// suffixes (case-insensitive in Llama 3), HTML tags (Gemma 3 added tokens), "▁" and byte-token
	// look-alikes (SentencePiece-style), emoji with modifiers.
	rng := rand.New(rand.NewPCG(13, 42))
	for range 150 {
		var b strings.Builder
		for n := 1 + rng.IntN(12); n > 0; n-- {
			b.WriteString(mixPieces[rng.IntN(len(mixPieces))])
		}
		add(b.String())
	}

	var sources []struct {
		name  string
		convs []chat.Conversation
	}
	for _, name := range datasets.Names() {
		p, err := datasets.Path(name, datasets.Train)
		if err != nil {
			log.Fatal(err)
		}
		convs, err := data.ReadAll(p)
		if err != nil {
			log.Fatal(err)
		}
		sources = append(sources, struct {
			name  string
			convs []chat.Conversation
		}{name, convs})
	}
	for _, f := range []string{"fastchat_dummy_conversation.json", "llamafactory_glaive_toolcall_zh_demo.json", "llamafactory_identity.json"} {
		convs, _, err := data.ImportJSON(filepath.Join("..", "shared", "data", f))
		if err != nil {
			log.Fatal(err)
		}
		sources = append(sources, struct {
			name  string
			convs []chat.Conversation
		}{f, convs})
	}
	for _, src := range sources {
		var msgs []string
		for _, c := range src.convs {
			if c.System != "" {
				msgs = append(msgs, c.System)
			}
			for _, m := range c.Messages {
				msgs = append(msgs, m.Content)
			}
		}
		n := 0
		// Every message with a character outside the Basic Multilingual Plane or a rare
		// CJK one (咴 and friends: outside the 3,500 most common), then an even sample.
		for _, m := range msgs {
			if n < 12 && hasRare(m) {
				add(clip(m))
				n++
			}
		}
		step := max(1, len(msgs)/30)
		for i := 0; i < len(msgs); i += step {
			add(clip(msgs[i]))
		}
		// One whole dialogue, as a template would join it.
		if len(src.convs) > 0 {
			var b strings.Builder
			for _, m := range src.convs[len(src.convs)/2].Messages {
				b.WriteString(m.Content)
				b.WriteString("\n\n")
			}
			add(clip(b.String()))
		}
		fmt.Fprintf(os.Stderr, "%s: %d messages\n", src.name, len(msgs))
	}

	var b bytes.Buffer
	b.WriteString("[\n")
	for i, s := range out {
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		if err := e.Encode(s); err != nil {
			log.Fatal(err)
		}
		b.WriteString("  ")
		b.Write(bytes.TrimSuffix(enc.Bytes(), []byte("\n")))
		if i < len(out)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	if err := os.WriteFile(filepath.Join(here, "corpus.json"), b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %d strings\n", len(out))
}

// clip keeps at most 400 bytes, cut at a character boundary.
func clip(s string) string {
	if len(s) <= 400 {
		return s
	}
	i := 400
	for !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// hasRare reports a character outside the BMP, or one of the rare CJK characters seen to
// fall outside tokenizer vocabularies.
func hasRare(s string) bool {
	for _, r := range s {
		if r > 0xFFFF || strings.ContainsRune("咴嘤啾喵哞汪唧", r) {
			return true
		}
	}
	return false
}
