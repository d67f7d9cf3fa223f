package lora

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/loralab/loralab/pkg/llama"
)

// Structure returns a print of the model like transformers' print(model); with a plan it is
// print(peft_model) of PEFT: PeftModelForCausalLM / LoraModel wrappers, lora.Linear and
// lora.Embedding around adapted modules, ModulesToSaveWrapper around modules_to_save.
// Consecutive identical decoder layers are collapsed as PyTorch does ("(0-29): 30 x ...").
func Structure(mc *llama.Config, plan *Plan) string {
	prefix := mc.ClassPrefix()
	var adapted map[string]Module
	saved := map[string]bool{}
	if plan != nil {
		adapted = map[string]Module{}
		for _, m := range plan.Modules {
			adapted[m.Name] = m
		}
		for _, s := range plan.ModulesToSave {
			saved[strings.TrimSuffix(strings.TrimSuffix(s.Name, ".weight"), ".bias")] = true
		}
	}
	dropout := "Identity()"
	if plan != nil && plan.Config.LoraDropout > 0 {
		dropout = fmt.Sprintf("Dropout(p=%s, inplace=False)", pyFloat(plan.Config.LoraDropout))
	}
	linearRepr := func(in, out int, bias bool) string {
		return fmt.Sprintf("Linear(in_features=%d, out_features=%d, bias=%s)", in, out, pyBool(bias))
	}
	embRepr := fmt.Sprintf("Embedding(%d, %d)", mc.VocabSize, mc.HiddenSize)
	module := func(name, base string) []string {
		if m, ok := adapted[name]; ok {
			if m.Kind == KindEmbedding {
				return []string{"lora.Embedding(",
					"  (base_layer): " + base,
					"  (lora_dropout): ModuleDict(", "    (default): " + dropout, "  )",
					"  (lora_A): ModuleDict()", "  (lora_B): ModuleDict()",
					fmt.Sprintf("  (lora_embedding_A): ParameterDict(  (default): Parameter containing: [torch.FloatTensor of size %dx%d])", m.R, m.In),
					fmt.Sprintf("  (lora_embedding_B): ParameterDict(  (default): Parameter containing: [torch.FloatTensor of size %dx%d])", m.Out, m.R),
					"  (lora_magnitude_vector): ModuleDict()", ")"}
			}
			magnitude := []string{"  (lora_magnitude_vector): ModuleDict()"}
			if m.Dora {
				magnitude = []string{"  (lora_magnitude_vector): ModuleDict(", "    (default): lora.dora.DoraLinearLayer()", "  )"}
			}
			return slices.Concat([]string{"lora.Linear(",
				"  (base_layer): " + base,
				"  (lora_dropout): ModuleDict(", "    (default): " + dropout, "  )",
				"  (lora_A): ModuleDict(", "    (default): " + linearRepr(m.In, m.R, false), "  )",
				"  (lora_B): ModuleDict(", "    (default): " + linearRepr(m.R, m.Out, false), "  )",
				"  (lora_embedding_A): ParameterDict()", "  (lora_embedding_B): ParameterDict()"},
				magnitude, []string{")"})
		}
		if saved[name] {
			return []string{"ModulesToSaveWrapper(", "  (original_module): " + base,
				"  (modules_to_save): ModuleDict(", "    (default): " + base, "  )", ")"}
		}
		return []string{base}
	}
	var lines []string
	add := func(indent int, label string, body []string) {
		pad := strings.Repeat("  ", indent)
		lines = append(lines, pad+"("+label+"): "+body[0])
		for _, l := range body[1:] {
			lines = append(lines, pad+l)
		}
	}
	norm := fmt.Sprintf("%sRMSNorm((%d,), eps=%s)", prefix, mc.HiddenSize, pyFloat(mc.RMSNormEps))

	// Render every decoder layer, then collapse runs of identical ones.
	layerBody := func(l int) []string {
		var b []string
		sub := func(indent int, label string, body []string) {
			pad := strings.Repeat("  ", indent)
			b = append(b, pad+"("+label+"): "+body[0])
			for _, x := range body[1:] {
				b = append(b, pad+x)
			}
		}
		b = append(b, prefix+"DecoderLayer(")
		b = append(b, "  (self_attn): "+prefix+"Attention(")
		for _, lin := range mc.LinearModules() {
			if lin.Layer != l {
				continue
			}
			short := lin.Module[strings.LastIndexByte(lin.Module, '.')+1:]
			if strings.Contains(lin.Module, ".mlp.") && short == "gate_proj" {
				b = append(b, "  )", "  (mlp): "+prefix+"MLP(")
			}
			sub(2, short, module(lin.Module, linearRepr(lin.In, lin.Out, lin.Bias)))
			if short == "o_proj" && mc.HasQKNorm() { // Qwen3's per-head norms
				hn := fmt.Sprintf("%sRMSNorm((%d,), eps=%s)", prefix, mc.HeadDimension(), pyFloat(mc.RMSNormEps))
				b = append(b, "    (q_norm): "+hn, "    (k_norm): "+hn)
			}
		}
		b = append(b, "    (act_fn): SiLUActivation()", "  )") // transformers 5: ACT2FN["silu"] is activations.SiLUActivation
		b = append(b, "  (input_layernorm): "+norm, "  (post_attention_layernorm): "+norm, ")")
		return b
	}
	var body []string
	body = append(body, prefix+"ForCausalLM(", "  (model): "+prefix+"Model(")
	lines = nil
	add(2, "embed_tokens", module("model.embed_tokens", embRepr))
	body = append(body, lines...)
	body = append(body, "    (layers): ModuleList(")
	for l := 0; l < mc.NumHiddenLayers; {
		cur := strings.Join(layerBody(l), "\n")
		end := l + 1
		for end < mc.NumHiddenLayers && strings.Join(layerBody(end), "\n") == cur {
			end++
		}
		label := strconv.Itoa(l)
		first := layerBody(l)
		if end-l > 1 {
			label = fmt.Sprintf("%d-%d", l, end-1)
			first[0] = fmt.Sprintf("%d x %s", end-l, first[0])
		}
		lines = nil
		add(3, label, first)
		body = append(body, lines...)
		l = end
	}
	body = append(body, "    )", "    (norm): "+norm, "    (rotary_emb): "+prefix+"RotaryEmbedding()", "  )")
	lines = nil
	add(1, "lm_head", module("lm_head", linearRepr(mc.HiddenSize, mc.VocabSize, false)))
	body = append(body, lines...)
	body = append(body, ")")
	if plan == nil {
		return strings.Join(body, "\n")
	}
	out := []string{"PeftModelForCausalLM(", "  (base_model): LoraModel("}
	for i, l := range body {
		if i == 0 {
			out = append(out, "    (model): "+l)
			continue
		}
		out = append(out, "    "+l)
	}
	out = append(out, "  )", ")")
	return strings.Join(out, "\n")
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// pyFloat formats like Python's repr of a float (1e-06, 1e-05, 0.05, 0.1).
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if strings.Contains(s, "e") {
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		digits := strings.TrimLeft(exp[1:], "0")
		if len(digits) < 2 {
			digits = strings.Repeat("0", 2-len(digits)) + digits
		}
		return mant + "e" + string(sign) + digits
	}
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
