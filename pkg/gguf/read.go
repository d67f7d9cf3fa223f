package gguf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"
	hfgguf "github.com/gomlx/go-huggingface/models/gguf"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/safetensors"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// ToHF converts a llama.cpp GGUF model ("llama" or "qwen2" architecture, byte-level BPE
// "gpt2" tokenizer) into a Hugging Face model directory — config.json, model.safetensors,
// tokenizer.json, tokenizer_config.json — that llama.LoadModelWith, lab.Load and LoRA training
// take like any checkpoint. It reads with go-huggingface's GGUF reader, one tensor at a time:
// F32, F16 and BF16 tensors are kept as they are stored (the safetensors dtype follows), and
// quantized ones (Q8_0, Q4_0, K-quants…) are dequantized to float32 — re-quantize at load with
// llama.LoadOptions (NF4/int8) to keep the base small. Q/K rows of the "llama" architecture are
// permuted back to HF's layout.
func ToHF(ggufPath, dir string) error {
	f, err := hfgguf.Open(ggufPath)
	if err != nil {
		return err
	}
	cfg, permuteQK, err := configOf(f)
	if err != nil {
		return fmt.Errorf("%s: %w", ggufPath, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tokJSON, tokCfg, err := tokenizerFiles(f)
	if err != nil {
		return fmt.Errorf("%s: %w", ggufPath, err)
	}
	r, err := hfgguf.NewReader(f)
	if err != nil {
		return err
	}
	defer r.Close()
	var lz []safetensors.Lazy
	for _, spec := range cfg.ParamSpecs() {
		name, _ := TensorName(spec.Name)
		info, ok := f.GetTensorInfo(name)
		if !ok {
			return fmt.Errorf("%s: tensor %s (for %s) is missing", ggufPath, name, spec.Name)
		}
		dt, dims := info.GoMLXShape()
		if !equalInts(dims, spec.Shape) {
			return fmt.Errorf("%s: tensor %s has shape %v, the config implies %v", ggufPath, name, dims, spec.Shape)
		}
		if dt != dtypes.Float32 && dt != dtypes.Float16 && dt != dtypes.BFloat16 {
			return fmt.Errorf("%s: tensor %s has dtype %s", ggufPath, name, dt)
		}
		heads := 0
		if permuteQK {
			heads = qkHeads(cfg, spec.Name)
		}
		spec := spec
		lz = append(lz, safetensors.Lazy{Name: spec.Name, DType: dt, Shape: spec.Shape, Load: func() (*tensors.Tensor, error) {
			t, err := r.ReadTensor(nil, name)
			if err != nil || heads == 0 {
				return t, err
			}
			vals, err := floats(t)
			if err != nil {
				return nil, err
			}
			out := tensors.FromFlatDataAndDimensions(permuteRows(vals, spec.Shape[0], heads, true), spec.Shape...)
			if dt == dtypes.Float32 {
				return out, nil
			}
			return llama.ConvertFloat32(out, dt)
		}})
	}
	if err := safetensors.WriteLazy(filepath.Join(dir, "model.safetensors"), lz, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	cfg.TorchDType = map[dtypes.DType]string{dtypes.Float32: "float32", dtypes.Float16: "float16", dtypes.BFloat16: "bfloat16"}[lz[0].DType]
	if err := cfg.Save(dir); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "tokenizer.json"), tokJSON); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "tokenizer_config.json"), tokCfg)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// configOf builds the HF config of a GGUF model from its metadata.
func configOf(f *hfgguf.File) (cfg *llama.Config, permuteQK bool, err error) {
	a := f.Architecture()
	if a != "llama" && a != "qwen2" {
		return nil, false, fmt.Errorf("general.architecture %q is not read (llama and qwen2 are)", a)
	}
	u := func(key string) int {
		kv, ok := f.GetKeyValue(a + "." + key)
		if !ok && err == nil {
			err = fmt.Errorf("metadata %s.%s is missing", a, key)
		}
		return int(kv.Int64())
	}
	fl := func(key string, def float64) float64 {
		if kv, ok := f.GetKeyValue(a + "." + key); ok {
			// Stored as float32: take the shortest decimal that rounds to it (1e-06, not 9.99…e-07).
			v, _ := strconv.ParseFloat(strconv.FormatFloat(kv.Float64(), 'g', -1, 32), 64)
			return v
		}
		return def
	}
	tokens, _ := f.GetKeyValue("tokenizer.ggml.tokens")
	vocab := len(tokens.Strings())
	if kv, ok := f.GetKeyValue(a + ".vocab_size"); ok {
		vocab = int(kv.Int64())
	}
	heads := u("attention.head_count")
	kvHeads := heads
	if kv, ok := f.GetKeyValue(a + ".attention.head_count_kv"); ok {
		kvHeads = int(kv.Int64())
	}
	cfg = llama.DefaultConfig(vocab, u("embedding_length"), u("feed_forward_length"), u("block_count"), heads, kvHeads)
	cfg.MaxPositionEmbeddings = u("context_length")
	if err != nil {
		return nil, false, err
	}
	cfg.RMSNormEps = fl("attention.layer_norm_rms_epsilon", 1e-6)
	cfg.RopeTheta = fl("rope.freq_base", 10000)
	if kv, ok := f.GetKeyValue(a + ".attention.key_length"); ok && int(kv.Int64())*heads != cfg.HiddenSize {
		cfg.HeadDim = int(kv.Int64())
	}
	if kv, ok := f.GetKeyValue(a + ".rope.scaling.type"); ok && kv.String() != "none" {
		if kv.String() != "linear" {
			return nil, false, fmt.Errorf("rope scaling %q is not read (linear is)", kv.String())
		}
		cfg.RopeScaling = &llama.RopeScaling{Type: "linear", Factor: fl("rope.scaling.factor", 1)}
	}
	if _, ok := f.GetTensorInfo("output.weight"); !ok {
		cfg.TieWordEmbeddings = true
	}
	if a == "qwen2" {
		cfg.Architectures, cfg.ModelType = []string{"Qwen2ForCausalLM"}, "qwen2"
	}
	for key, dst := range map[string]*llama.TokenIDs{"bos_token_id": &cfg.BOSTokenID, "eos_token_id": &cfg.EOSTokenID} {
		if kv, ok := f.GetKeyValue("tokenizer.ggml." + key); ok {
			*dst = llama.TokenIDs{int(kv.Int64())}
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, false, err
	}
	return cfg, a == "llama", nil
}

// tokenizerFiles writes tokenizer.json and tokenizer_config.json for a GGUF "gpt2" tokenizer.
func tokenizerFiles(f *hfgguf.File) (tokJSON, cfgJSON []byte, err error) {
	get := func(key string) hfgguf.Value {
		kv, ok := f.GetKeyValue(key)
		if !ok && err == nil {
			err = fmt.Errorf("metadata %s is missing", key)
		}
		return kv.Value
	}
	model := get("tokenizer.ggml.model").String()
	pre := get("tokenizer.ggml.pre").String()
	tokens := get("tokenizer.ggml.tokens").Strings()
	types := get("tokenizer.ggml.token_type").Int64s()
	merges := get("tokenizer.ggml.merges").Strings()
	if err != nil {
		return nil, nil, err
	}
	if model != "gpt2" {
		return nil, nil, fmt.Errorf("tokenizer.ggml.model %q is not read (gpt2, byte-level BPE, is)", model)
	}
	var patterns []string
	for _, p := range preTokenizers {
		if p.name == pre {
			patterns = p.patterns
		}
	}
	if patterns == nil {
		return nil, nil, fmt.Errorf("tokenizer.ggml.pre %q is not read (%s are)", pre, preNames())
	}
	if len(types) != len(tokens) {
		return nil, nil, fmt.Errorf("tokenizer.ggml.token_type has %d entries for %d tokens", len(types), len(tokens))
	}
	vocab := map[string]int{}
	var addedTokens []tokenizer.AddedToken
	for id, tok := range tokens {
		switch int32(types[id]) {
		case tokUnused:
			continue
		case tokControl, tokUserDefined:
			addedTokens = append(addedTokens, tokenizer.AddedToken{ID: id, Content: tok, Special: int32(types[id]) == tokControl})
		}
		vocab[tok] = id
	}
	var pretok []any
	for _, p := range patterns {
		// The table holds \r and \n as regex escapes; tokenizer.json holds the same.
		pretok = append(pretok, map[string]any{"type": "Split", "pattern": map[string]string{"Regex": p}, "behavior": "Isolated", "invert": false})
	}
	pretok = append(pretok, map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false})
	tj := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": addedTokens, "normalizer": nil,
		"pre_tokenizer":  map[string]any{"type": "Sequence", "pretokenizers": pretok},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": merges},
	}
	tokenOf := func(key string) any {
		if kv, ok := f.GetKeyValue("tokenizer.ggml." + key); ok {
			if id := int(kv.Int64()); id >= 0 && id < len(tokens) {
				return tokens[id]
			}
		}
		return nil
	}
	boolOf := func(key string) bool {
		kv, ok := f.GetKeyValue("tokenizer.ggml." + key)
		return ok && kv.Bool()
	}
	tc := map[string]any{
		"bos_token": tokenOf("bos_token_id"), "eos_token": tokenOf("eos_token_id"), "pad_token": tokenOf("padding_token_id"),
		"add_bos_token": boolOf("add_bos_token"), "add_eos_token": boolOf("add_eos_token"),
		"clean_up_tokenization_spaces": false, "tokenizer_class": "PreTrainedTokenizerFast",
	}
	if kv, ok := f.GetKeyValue("tokenizer.chat_template"); ok {
		tc["chat_template"] = kv.String()
	}
	if tokJSON, err = marshal(tj); err != nil {
		return nil, nil, err
	}
	cfgJSON, err = marshal(tc)
	return tokJSON, cfgJSON, err
}

func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
