package tokenizer

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/go-huggingface/tokenizers/api"
	"github.com/gomlx/go-huggingface/tokenizers/hftokenizer"
	"github.com/loralab/loralab/pkg/chat"
)

var update = flag.Bool("update", false, "rewrite testdata/tiny_bpe from the trainer")

var tinySpecials = []string{chat.TinyBOS, chat.TinyEnd, chat.TinySystem, chat.TinyUser, chat.TinyAssistant, chat.TinyPad}

func trainCorpus(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "train_corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func trainTiny(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Train(func(yield func(string) bool) {
		for _, l := range trainCorpus(t) {
			if !yield(l) {
				return
			}
		}
	}, TrainOptions{VocabSize: 600, SpecialTokens: tinySpecials, PadToken: chat.TinyPad, ChatTemplate: chat.TinyChatTemplate})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestTrainGolden: training is deterministic and its files are the committed testdata/tiny_bpe
// (which gen_trained_golden.mjs feeds to transformers.js).
func TestTrainGolden(t *testing.T) {
	tok := trainTiny(t)
	dir := t.TempDir()
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "tiny_bpe")
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.MkdirAll(golden, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(golden, name), got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(filepath.Join(golden, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (training not deterministic, or run go test -update and regenerate the JS golden)", name, golden)
		}
	}
	if n := tok.VocabSize(); n <= 256+len(tinySpecials) || n > 600 {
		t.Errorf("vocab size %d, want in (262, 600]", n)
	}
	if tok.BOSID() != 0 || tok.EOSID() != 1 || tok.PadID() != 5 {
		t.Errorf("BOS/EOS/pad ids %d %d %d, want 0 1 5", tok.BOSID(), tok.EOSID(), tok.PadID())
	}
	// Loading the saved directory gives the same tokenizer.
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config().ChatTemplate != chat.TinyChatTemplate || back.Config().PadToken != chat.TinyPad {
		t.Errorf("config did not round-trip: %+v", back.Config())
	}
	for _, l := range append(trainCorpus(t), "没见过的汉字：龘靐齉 and unseen words 🦄") {
		a, b := tok.Encode(l), back.Encode(l)
		if !slices.Equal(a, b) {
			t.Errorf("%q: trained %v, reloaded %v", l, a, b)
		}
		if got := back.Decode(a); got != l {
			t.Errorf("Decode(Encode(%q)) = %q", l, got)
		}
	}
}

type tinyGolden struct {
	Encode        []goldenEntry `json:"encode"`
	EncodeSpecial []goldenEntry `json:"encode_special"`
}

// TestTrainedTokenizerJS: transformers.js (@lenml/tokenizers) loads the committed trained files
// and its ids (testdata/tiny_bpe_golden.json, from gen_trained_golden.mjs) equal ours.
func TestTrainedTokenizerJS(t *testing.T) {
	tok, err := Load(filepath.Join("testdata", "tiny_bpe"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "tiny_bpe_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g tinyGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Encode) < 5 || len(g.EncodeSpecial) < 1 {
		t.Fatalf("golden too small: %d / %d entries", len(g.Encode), len(g.EncodeSpecial))
	}
	for _, e := range g.Encode {
		if got := tok.Encode(e.Text); !slices.Equal(got, e.IDs) {
			t.Errorf("Encode(%q):\n got  %v\n want %v", e.Text, got, e.IDs)
		}
	}
	for _, e := range g.EncodeSpecial {
		if got := tok.EncodeSpecial(e.Text); !slices.Equal(got, e.IDs) {
			t.Errorf("EncodeSpecial(%q):\n got  %v\n want %v", e.Text, got, e.IDs)
		}
	}
}

// TestTrainedTokenizerGoHuggingFace: go-huggingface's own loader reads both saved files. Its
// encoder is compared on text its pre-tokenizer handles like HF (ASCII words, single spaces,
// numbers of up to three digits); it cannot compile the lookahead regex (see lookaheadIdiom).
func TestTrainedTokenizerGoHuggingFace(t *testing.T) {
	dir := filepath.Join("testdata", "tiny_bpe")
	cfg, err := api.ParseConfigFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		t.Fatalf("go-huggingface rejects our tokenizer_config.json: %v", err)
	}
	if cfg.BosToken != chat.TinyBOS || cfg.EosToken != chat.TinyEnd || cfg.ChatTemplate != chat.TinyChatTemplate {
		t.Errorf("go-huggingface config: bos %q eos %q", cfg.BosToken, cfg.EosToken)
	}
	hf, err := hftokenizer.NewFromFile(cfg, filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatalf("go-huggingface rejects our tokenizer.json: %v", err)
	}
	_ = hf.With(api.EncodeOptions{AddSpecialTokens: false})
	ours, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// go-huggingface adds the added tokens to the model's vocabulary size even when the model
	// already holds them (as our files do, at their ids, which Hugging Face tokenizers needs);
	// HF tokenizers' get_vocab_size() counts them once.
	if want := ours.VocabSize() + len(ours.AddedTokens()); hf.VocabSize() != want {
		t.Errorf("vocab size: go-huggingface %d, want ours %d + %d added", hf.VocabSize(), ours.VocabSize(), len(ours.AddedTokens()))
	}
	if id, err := hf.SpecialTokenID(api.TokEndOfSentence); err != nil || id != ours.EOSID() {
		t.Errorf("go-huggingface EOS id %d (%v), ours %d", id, err, ours.EOSID())
	}
	for _, s := range []string{"The quick brown fox jumps over the lazy dog", "we train for 3 epochs", "LoRA adds two small matrices"} {
		if a, b := hf.Encode(s), ours.Encode(s); !slices.Equal(a, b) {
			t.Errorf("%q: go-huggingface %v, ours %v", s, a, b)
		}
		if got := hf.Decode(ours.Encode(s)); got != s {
			t.Errorf("go-huggingface Decode = %q, want %q", got, s)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	texts := []string{"hello world"}
	for name, o := range map[string]TrainOptions{
		"small vocab":   {VocabSize: 100},
		"empty special": {VocabSize: 300, SpecialTokens: []string{""}},
		"dup special":   {VocabSize: 300, SpecialTokens: []string{"<a>", "<a>"}},
		"bad bos":       {VocabSize: 300, SpecialTokens: []string{"<a>"}, BOSToken: "<b>"},
	} {
		if _, err := Train(func(y func(string) bool) { y(texts[0]) }, o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
