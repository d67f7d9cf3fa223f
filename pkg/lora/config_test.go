package lora

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/llama"
)

func TestParseConfigPEFTForms(t *testing.T) {
	mc := llama.DefaultConfig(50, 16, 32, 3, 4, 2)
	for _, tc := range []struct {
		name, json string
		wantErr    string
		modules    []string // expected adapted module names (checked when non-nil)
		check      func(*Plan) bool
	}{
		{"defaults", `{}`, "", []string{
			"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj",
			"model.layers.1.self_attn.v_proj", "model.layers.2.self_attn.q_proj", "model.layers.2.self_attn.v_proj"},
			func(p *Plan) bool { return p.Modules[0].R == 8 && p.Modules[0].Scaling == 1 }},
		{"regex string", `{"target_modules": ".*layers\\.1\\..*(up|down)_proj"}`, "",
			[]string{"model.layers.1.mlp.up_proj", "model.layers.1.mlp.down_proj"}, nil},
		{"layers_to_transform int", `{"target_modules": ["o_proj"], "layers_to_transform": 2}`, "",
			[]string{"model.layers.2.self_attn.o_proj"}, nil},
		{"exclude_modules", `{"target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], "exclude_modules": ["gate_proj", "up_proj", "down_proj", "k_proj"], "layers_to_transform": [0]}`, "",
			[]string{"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.0.self_attn.o_proj"}, nil},
		{"full module path", `{"target_modules": ["model.layers.1.self_attn.q_proj"]}`, "",
			[]string{"model.layers.1.self_attn.q_proj"}, nil},
		{"rslora patterns", `{"r": 16, "lora_alpha": 32, "use_rslora": true, "rank_pattern": {"layers.0.self_attn.q_proj": 4}, "alpha_pattern": {"v_proj": 8}, "layers_to_transform": [0]}`, "", nil,
			func(p *Plan) bool {
				q, _ := p.Module("model.layers.0.self_attn.q_proj")
				v, _ := p.Module("model.layers.0.self_attn.v_proj")
				return q.R == 4 && q.Scaling == 32/2.0 && v.R == 16 && v.Alpha == 8 && v.Scaling == 8/4.0
			}},
		{"lm_head and embedding", `{"target_modules": ["lm_head", "embed_tokens"]}`, "", []string{"model.embed_tokens", "lm_head"},
			func(p *Plan) bool { return p.Modules[0].Kind == KindEmbedding && p.Modules[1].Kind == KindLinear }},
		{"init gaussian", `{"init_lora_weights": "gaussian"}`, "", nil, func(p *Plan) bool { return p.Config.InitLoraWeights == InitGaussian }},
		{"init false", `{"init_lora_weights": false}`, "", nil, func(p *Plan) bool { return p.Config.InitLoraWeights == InitRandom }},
		{"pissa", `{"init_lora_weights": "pissa"}`, `init_lora_weights "pissa"`, nil, nil},
		{"dora", `{"use_dora": true}`, "", []string{"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
			"model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj", "model.layers.2.self_attn.q_proj", "model.layers.2.self_attn.v_proj"},
			func(p *Plan) bool { return p.Modules[0].Dora && len(p.ParamSpecs()) == 3*len(p.Modules) }},
		{"dora on an embedding", `{"use_dora": true, "target_modules": ["embed_tokens", "q_proj"]}`,
			"use_dora=true: target module model.embed_tokens is an Embedding", nil, nil},
		{"bad bias", `{"bias": "some"}`, `bias "some"`, nil, nil},
		{"prompt tuning", `{"peft_type": "PROMPT_TUNING"}`, "peft_type", nil, nil},
		{"norm target", `{"target_modules": ["input_layernorm"]}`, "RMSNorm", nil, nil},
		{"no match", `{"target_modules": ["query_key_value"]}`, "modules that exist: model, embed_tokens", nil, nil},
		{"regex no match", `{"target_modules": ".*\\.attn\\..*"}`, "matched no module", nil, nil},
		{"regex hits a norm", `{"target_modules": ".*attention.*"}`, "post_attention_layernorm (RMSNorm) is not supported", nil, nil},
		{"layer out of range", `{"layers_to_transform": [7]}`, "layers_to_transform[0] = 7 is out of range: the model has 3 layers", nil, nil},
		// PEFT's LoraConfig refuses these (ValueError), so LoRA Lab does too.
		{"regex with layers_to_transform", `{"target_modules": ".*q_proj", "layers_to_transform": [0]}`, "layers_to_transform cannot be used when target_modules is a string", nil, nil},
		{"all-linear with layers_to_transform", `{"target_modules": "all-linear", "layers_to_transform": [0]}`, "layers_to_transform cannot be used", nil, nil},
		{"layers_pattern alone", `{"target_modules": ["q_proj"], "layers_pattern": "layers"}`, "layers_pattern needs layers_to_transform", nil, nil},
		{"layers_pattern with regex", `{"target_modules": ".*q_proj", "layers_pattern": "layers"}`, "layers_pattern cannot be used when target_modules is a string", nil, nil},
		{"modules_to_save missing", `{"modules_to_save": ["score"]}`, `modules_to_save entry "score"`, nil, nil},
		{"loftq", `{"loftq_config": {"loftq_bits": 4}}`, "loftq_config", nil, nil},
		{"qalora", `{"use_qalora": true}`, "use_qalora", nil, nil},
		{"newer fields off", `{"use_qalora": false, "target_parameters": null, "peft_version": "0.17.0"}`, "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.json))
			var plan *Plan
			if err == nil {
				plan, err = cfg.Resolve(mc)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.modules != nil {
				var got []string
				for _, m := range plan.Modules {
					got = append(got, m.Name)
				}
				if strings.Join(got, ",") != strings.Join(tc.modules, ",") {
					t.Errorf("adapted %v, want %v", got, tc.modules)
				}
			}
			if tc.check != nil && !tc.check(plan) {
				t.Errorf("plan not as expected: %+v", plan.Modules)
			}
		})
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TargetModules = TargetRegex(`.*\.(q|v)_proj`)
	cfg.InitLoraWeights = InitGaussian
	cfg.ModulesToSave = []string{"lm_head"}
	cfg.RankPattern = map[string]int{"q_proj": 4}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	data2, _ := json.MarshalIndent(back, "", "  ")
	if string(data) != string(data2) {
		t.Errorf("round trip changed the config:\n%s\n%s", data, data2)
	}
	for _, key := range []string{`"init_lora_weights": "gaussian"`, `"target_modules": ".*\\.(q|v)_proj"`, `"peft_type": "LORA"`, `"loftq_config": {}`, `"revision": null`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("JSON lacks %s:\n%s", key, data)
		}
	}
}

// TestInit checks PEFT's initialisations: kaiming-uniform(a=√5) A in ±1/sqrt(in) with B = 0;
// gaussian A with std 1/r; embeddings A = 0 and B ~ N(0, 1).
func TestInit(t *testing.T) {
	base, err := llama.NewRandomModel(llama.DefaultConfig(400, 64, 128, 1, 4, 4), 1)
	if err != nil {
		t.Fatal(err)
	}
	stats := func(x []float32) (maxAbs, std float64) {
		var s, s2 float64
		for _, v := range x {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n := float64(len(x))
		return maxAbs, math.Sqrt(s2/n - (s/n)*(s/n))
	}
	for _, tc := range []struct {
		mode                       InitMode
		aMax, aStd, bMax, eA, eBSd float64 // eA: max |embedding A|, eBSd: std of embedding B
	}{
		{InitDefault, 1 / 8.0, 1 / 8.0 / math.Sqrt(3), 0, 0, 1},
		{InitGaussian, math.Inf(1), 1 / 4.0, 0, 0, 1},
	} {
		cfg := DefaultConfig()
		cfg.R = 4
		cfg.InitLoraWeights = tc.mode
		cfg.TargetModules = TargetNames("q_proj", "embed_tokens")
		a, err := New(cfg, base, 11)
		if err != nil {
			t.Fatal(err)
		}
		aMax, aStd := stats(tensors.MustCopyFlatData[float32](a.Tensors["model.layers.0.self_attn.q_proj.lora_A.weight"]))
		bMax, _ := stats(tensors.MustCopyFlatData[float32](a.Tensors["model.layers.0.self_attn.q_proj.lora_B.weight"]))
		eA, _ := stats(tensors.MustCopyFlatData[float32](a.Tensors["model.embed_tokens.lora_embedding_A"]))
		_, eBSd := stats(tensors.MustCopyFlatData[float32](a.Tensors["model.embed_tokens.lora_embedding_B"]))
		if aMax > tc.aMax || math.Abs(aStd-tc.aStd) > 0.1*tc.aStd || bMax != tc.bMax || eA != tc.eA || math.Abs(eBSd-tc.eBSd) > 0.1 {
			t.Errorf("%s: A max %.4f std %.4f (want ≤%.4f, %.4f), B max %g, emb A max %g, emb B std %.3f",
				tc.mode, aMax, aStd, tc.aMax, tc.aStd, bMax, eA, eBSd)
		}
	}
}
