package gguf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// ModelOptions choose how WriteModel stores a model.
type ModelOptions struct {
	// Type of the matrices (Linear weights, embeddings, output head): F32 (the zero value),
	// F16, BF16 or Q8_0. Norm weights and biases are always F32, as llama.cpp's converter writes them; a
	// matrix whose rows are not a multiple of 32 values is written F16 when Q8_0 is asked.
	Type Type
	// Name is general.name (default: the base name of the output file without ".gguf").
	Name string
	// Pre is tokenizer.ggml.pre, the pre-tokenizer llama.cpp applies. Empty: recognised from
	// tokenizer.json (see PreTokenizer).
	Pre string
}

// arch is the llama.cpp architecture of a model config, and whether its Q/K weights need
// llama.cpp's row permutation (its "llama" graph rotates adjacent pairs; HF rotates halves).
func arch(c *llama.Config) (name string, permuteQK bool, err error) {
	if c.RopeScaling != nil && c.RopeScaling.Kind() != "linear" {
		return "", false, fmt.Errorf("gguf: rope_scaling type %q is not exported (only linear)", c.RopeScaling.Kind())
	}
	switch {
	case c.IsQwen3():
		return "", false, fmt.Errorf("gguf: Qwen3 export is not implemented (llama and qwen2 are)")
	case c.IsQwen2():
		return "qwen2", false, nil
	case c.ModelType == "llama" || c.ModelType == "":
		if c.AttentionBias {
			return "", false, fmt.Errorf("gguf: attention_bias=true on a llama model is not exported")
		}
		if c.LayerSlidingWindow(0) > 0 {
			return "", false, fmt.Errorf("gguf: sliding_window is not exported")
		}
		return "llama", true, nil
	}
	return "", false, fmt.Errorf("gguf: model_type %q is not exported (llama and qwen2 are)", c.ModelType)
}

// fileType is general.file_type (llama.cpp's llama_ftype) for the matrices' type.
func fileType(t Type) uint32 {
	switch t {
	case F16:
		return 1
	case Q8_0:
		return 7
	case BF16:
		return 32
	}
	return 0
}

// hparams are the architecture's metadata (llama.cpp's LLM_KV_* keys).
func hparams(a string, c *llama.Config) []KV {
	kv := []KV{
		{a + ".context_length", uint32(c.MaxPositionEmbeddings)},
		{a + ".embedding_length", uint32(c.HiddenSize)},
		{a + ".block_count", uint32(c.NumHiddenLayers)},
		{a + ".feed_forward_length", uint32(c.IntermediateSize)},
		{a + ".attention.head_count", uint32(c.NumAttentionHeads)},
		{a + ".attention.head_count_kv", uint32(c.NumKeyValueHeads)},
		{a + ".rope.freq_base", float32(c.RopeTheta)},
		{a + ".rope.dimension_count", uint32(c.HeadDimension())},
		{a + ".attention.layer_norm_rms_epsilon", float32(c.RMSNormEps)},
		{a + ".vocab_size", uint32(c.VocabSize)},
	}
	if hd := c.HeadDimension(); hd*c.NumAttentionHeads != c.HiddenSize {
		kv = append(kv, KV{a + ".attention.key_length", uint32(hd)}, KV{a + ".attention.value_length", uint32(hd)})
	}
	if c.RopeScaling != nil {
		kv = append(kv, KV{a + ".rope.scaling.type", "linear"}, KV{a + ".rope.scaling.factor", float32(c.RopeScaling.Factor)})
	}
	return kv
}

// TensorName is llama.cpp's name for a HF parameter name ("model.layers.3.self_attn.q_proj.weight"
// → "blk.3.attn_q.weight"); ok is false for a name llama.cpp has no tensor for.
func TensorName(hf string) (string, bool) {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight", true
	case "model.norm.weight":
		return "output_norm.weight", true
	case "lm_head.weight":
		return "output.weight", true
	}
	rest, ok := strings.CutPrefix(hf, "model.layers.")
	if !ok {
		return "", false
	}
	layer, module, ok := strings.Cut(rest, ".")
	if !ok {
		return "", false
	}
	for _, m := range [][2]string{
		{"input_layernorm.", "attn_norm."}, {"post_attention_layernorm.", "ffn_norm."},
		{"self_attn.q_proj.", "attn_q."}, {"self_attn.k_proj.", "attn_k."},
		{"self_attn.v_proj.", "attn_v."}, {"self_attn.o_proj.", "attn_output."},
		{"mlp.gate_proj.", "ffn_gate."}, {"mlp.up_proj.", "ffn_up."}, {"mlp.down_proj.", "ffn_down."},
	} {
		if suffix, ok := strings.CutPrefix(module, m[0]); ok {
			return "blk." + layer + "." + m[1] + suffix, true
		}
	}
	return "", false
}

// permuteRows reorders the rows of a Q or K projection (weight [heads·hd, in] or bias
// [heads·hd]) from HF's rotate-half layout to the interleaved pairs of llama.cpp's "llama"
// graph: within each head, row j·2+p takes the old row p·hd/2+j (llama.cpp's converter:
// reshape(heads, 2, hd/2, …).swapaxes(1, 2)). back undoes it (GGUF → HF).
func permuteRows(vals []float32, rows, heads int, back bool) []float32 {
	cols := len(vals) / rows
	hd := rows / heads
	out := make([]float32, len(vals))
	for h := range heads {
		for j := range hd / 2 {
			for p := range 2 {
				dst, src := h*hd+j*2+p, h*hd+p*(hd/2)+j
				if back {
					dst, src = src, dst
				}
				copy(out[dst*cols:(dst+1)*cols], vals[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

// qkHeads is the head count of a Q or K projection's rows (its module or weight name), 0 for
// any other tensor: those llama.cpp's "llama" graph needs permuted.
func qkHeads(c *llama.Config, name string) int {
	name = strings.TrimSuffix(name, ".weight")
	switch {
	case strings.HasSuffix(name, "q_proj"):
		return c.NumAttentionHeads
	case strings.HasSuffix(name, "k_proj"):
		return c.NumKeyValueHeads
	}
	return 0
}

// floats returns a tensor's values as float32 (float32, bfloat16 or float16 tensors).
func floats(t *tensors.Tensor) ([]float32, error) {
	var out []float32
	err := t.ConstFlatData(func(flat any) {
		switch v := flat.(type) {
		case []float32:
			out = append([]float32(nil), v...)
		case []bfloat16.BFloat16:
			out = make([]float32, len(v))
			for i, x := range v {
				out[i] = x.Float32()
			}
		case []float16.Float16:
			out = make([]float32, len(v))
			for i, x := range v {
				out[i] = x.Float32()
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("dtype %s is not exported (dequantize the model first)", t.Shape().DType)
	}
	return out, nil
}

// WriteModel writes model m with the tokenizer in tokDir (tokenizer.json and
// tokenizer_config.json) as one GGUF file that llama.cpp loads. Tensors are produced one at a
// time as the file is written.
func WriteModel(path string, m *llama.Model, tokDir string, opts ModelOptions) error {
	c := m.Config
	a, permuteQK, err := arch(c)
	if err != nil {
		return err
	}
	if opts.Name == "" {
		opts.Name = strings.TrimSuffix(filepath.Base(path), ".gguf")
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if opts.Pre == "" {
		raw, err := os.ReadFile(filepath.Join(tokDir, "tokenizer.json"))
		if err != nil {
			return fmt.Errorf("gguf: %w", err)
		}
		if opts.Pre, err = PreTokenizer(raw); err != nil {
			return err
		}
	}
	kvs := []KV{{"general.architecture", a}, {"general.name", opts.Name}, {"general.file_type", fileType(opts.Type)}}
	kvs = append(kvs, hparams(a, c)...)
	tkv, err := tokenizerKVs(tok, c.VocabSize, opts.Pre)
	if err != nil {
		return err
	}
	kvs = append(kvs, tkv...)

	var ts []Tensor
	for _, spec := range c.ParamSpecs() {
		name, ok := TensorName(spec.Name)
		if !ok {
			return fmt.Errorf("gguf: parameter %s has no llama.cpp tensor name", spec.Name)
		}
		w, ok := m.Weights[spec.Name]
		if !ok {
			return fmt.Errorf("gguf: model lacks %s", spec.Name)
		}
		typ := F32
		if len(spec.Shape) == 2 {
			typ = opts.Type
			if typ == Q8_0 && spec.Shape[1]%q8Block != 0 {
				typ = F16
			}
		}
		heads := 0
		if permuteQK {
			heads = qkHeads(c, spec.Name)
		}
		spec := spec
		ts = append(ts, Tensor{Name: name, Shape: spec.Shape, Type: typ, Data: func() ([]float32, error) {
			vals, err := floats(w)
			if err != nil {
				return nil, err
			}
			if heads > 0 {
				vals = permuteRows(vals, spec.Shape[0], heads, false)
			}
			return vals, nil
		}})
	}
	return Write(path, kvs, ts)
}

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	tokNormal      int32 = 1
	tokControl     int32 = 3
	tokUserDefined int32 = 4
	tokUnused      int32 = 5
)

// tokenizerKVs is the tokenizer metadata of a byte-level BPE tokenizer, padded to vocab ids.
func tokenizerKVs(tok *tokenizer.Tokenizer, vocab int, pre string) ([]KV, error) {
	if !tok.ByteLevel() {
		return nil, fmt.Errorf("gguf: only byte-level BPE tokenizers (tokenizer.ggml.model \"gpt2\") are exported")
	}
	if tok.VocabSize() > vocab {
		return nil, fmt.Errorf("gguf: the tokenizer has %d ids, more than the model's vocab_size %d", tok.VocabSize(), vocab)
	}
	tokens := make([]string, vocab)
	types := make([]int32, vocab)
	for id := range vocab {
		s := ""
		if id < tok.VocabSize() {
			s = tok.Token(id)
		}
		switch {
		case s == "":
			tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), tokUnused
		case tok.IsControl(id):
			tokens[id], types[id] = s, tokControl
		case tok.IsAdded(id):
			tokens[id], types[id] = s, tokUserDefined
		default:
			tokens[id], types[id] = s, tokNormal
		}
	}
	cfg := tok.Config()
	kv := []KV{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", pre},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", tok.Merges()},
	}
	for _, x := range []struct {
		key string
		id  int
	}{{"tokenizer.ggml.bos_token_id", tok.BOSID()}, {"tokenizer.ggml.eos_token_id", tok.EOSID()}, {"tokenizer.ggml.padding_token_id", tok.PadID()}} {
		if x.id >= 0 {
			kv = append(kv, KV{x.key, uint32(x.id)})
		}
	}
	kv = append(kv, KV{"tokenizer.ggml.add_bos_token", cfg.AddBOSToken}, KV{"tokenizer.ggml.add_eos_token", cfg.AddEOSToken})
	if cfg.ChatTemplate != "" {
		kv = append(kv, KV{"tokenizer.chat_template", cfg.ChatTemplate})
	}
	return kv, nil
}

// preTokenizers are the split patterns of tokenizer.json pre-tokenizers that llama.cpp knows
// under a tokenizer.ggml.pre name (llama.cpp's llama-vocab.cpp regexes for each
// LLAMA_VOCAB_PRE_TYPE), in tokenizer.json's order.
var preTokenizers = []struct {
	name     string
	patterns []string
}{
	{"deepseek-v3", []string{
		`\p{N}{1,3}`,
		"[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
		`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + "`" + `{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	}},
	{"qwen2", []string{`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}},
	{"llama-bpe", []string{`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}},
}

// PreTokenizer names the llama.cpp pre-tokenizer (tokenizer.ggml.pre) that splits text as the
// pre_tokenizer of a tokenizer.json does, or says that llama.cpp has none known to match.
func PreTokenizer(tokenizerJSON []byte) (string, error) {
	var f struct {
		PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	}
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return "", fmt.Errorf("gguf: tokenizer.json: %w", err)
	}
	var got []string
	collectPatterns(f.PreTokenizer, &got)
	for _, p := range preTokenizers {
		if len(p.patterns) == len(got) {
			same := true
			for i := range got {
				same = same && got[i] == p.patterns[i]
			}
			if same {
				return p.name, nil
			}
		}
	}
	return "", fmt.Errorf("gguf: tokenizer.json's pre_tokenizer (split patterns %q) matches none that llama.cpp knows here (%s): set ModelOptions.Pre", got, preNames())
}

func preNames() string {
	var s []string
	for _, p := range preTokenizers {
		s = append(s, p.name)
	}
	return strings.Join(s, ", ")
}

// collectPatterns gathers the Split regexes of a pre_tokenizer (a Sequence or a single one).
func collectPatterns(raw json.RawMessage, out *[]string) {
	var node struct {
		Type          string            `json:"type"`
		Pretokenizers []json.RawMessage `json:"pretokenizers"`
		Pattern       struct {
			Regex string `json:"Regex"`
		} `json:"pattern"`
	}
	if json.Unmarshal(raw, &node) != nil {
		return
	}
	switch node.Type {
	case "Sequence":
		for _, p := range node.Pretokenizers {
			collectPatterns(p, out)
		}
	case "Split":
		// A regex may hold a carriage return or line feed itself or as the escape \r, \n.
		*out = append(*out, strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(node.Pattern.Regex))
	}
}
