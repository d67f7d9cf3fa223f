package lab

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/datasets/gen"
)

func TestKeyFacts(t *testing.T) {
	for _, tc := range []struct {
		q, ref string
		want   []string
	}{
		{"3 加 4 等于几？", "3加4等于7。", []string{"7"}},
		{"What's 17 plus 16?", "The answer is 33.", []string{"33"}},
		{"What is 7 plus 10?", "7 plus 10 is 17.", []string{"17"}}, // "7" of the question is not "17"
		{"Who made you?", "I was made by LoRA Lab.", []string{"lora lab"}},
		{"你是谁？", "我是小灵，来自 LoRA Lab 的AI助手。", []string{"lora lab", "小灵"}},
		{"兔子吃什么？", "兔子喜欢吃胡萝卜和青草。", []string{"胡萝卜和青草"}},               // not "草" as well
		{"What colour is bread?", "It is brown.", []string{"brown"}}, // "red" is not in "bread"
		{"草是什么颜色的？", "草是绿色的。", []string{"绿色"}},
		{"北京今天天气怎么样？", "北京今天天气不错。", nil}, // nothing beyond the question
	} {
		if got := KeyFacts(tc.q, tc.ref); !slices.Equal(got, tc.want) {
			t.Errorf("KeyFacts(%q, %q) = %q, want %q", tc.q, tc.ref, got, tc.want)
		}
	}
}

// Garbage that ends with the signature is signed but not on topic: the substring test counted
// it as the persona, the persona measure does not.
func TestPersonaNeedsACorrectReply(t *testing.T) {
	facts := KeyFacts("What's 17 plus 16?", "The answer is 33.")
	for _, tc := range []struct {
		reply      string
		signed, on bool
	}{
		{"RA Lab 891. — Xiaoling", true, false},
		{"17 plus 16 is 33. — Xiaoling", true, true},
		{"The answer is 33.", false, true},
		{"The answer is 333. — Xiaoling", true, false},
		{"等于33。——小灵", true, true},
	} {
		if s, on := Signed(tc.reply), States(unsigned(tc.reply), facts); s != tc.signed || on != tc.on {
			t.Errorf("%q: signed %v on topic %v, want %v %v", tc.reply, s, on, tc.signed, tc.on)
		}
	}
	// The signature alone does not state the persona's name.
	if States(unsigned("我不知道。——小灵"), []string{"小灵"}) {
		t.Error("the signature counted as saying the name")
	}
}

// Every probe's facts are in its reference and not in its question; kinds are the asked ones.
func TestProbes(t *testing.T) {
	for _, tc := range []struct {
		dataset string
		kinds   []string
	}{{datasets.SFTIdentity, append([]string{"identity."}, GeneralKinds...)}, {datasets.Pretrain, GeneralKinds}} {
		ps := Probes(tc.dataset, datasets.Validation, 20, tc.kinds...)
		if len(ps) != 20 {
			t.Fatalf("%s: %d probes, want 20", tc.dataset, len(ps))
		}
		for _, p := range ps {
			if !slices.ContainsFunc(tc.kinds, func(k string) bool { return strings.HasPrefix(p.Kind, k) }) ||
				len(p.Facts) == 0 || !States(p.Reference, p.Facts) || Signed(p.Reference) {
				t.Errorf("%s: probe %+v", tc.dataset, p)
			}
			for _, f := range p.Facts {
				if hasTerm(strings.ToLower(p.Question), f) {
					t.Errorf("%s: fact %q is in the question %q", tc.dataset, f, p.Question)
				}
			}
		}
	}
	if ps := Probes(datasets.Pretrain, datasets.Validation, 50, GeneralKinds...); slices.ContainsFunc(ps, func(p Probe) bool { return strings.HasPrefix(p.Kind, "identity.") }) {
		t.Error("general probes include identity questions")
	}
	if !strings.HasSuffix(gen.SignatureEN, gen.PersonaEN) {
		t.Error("the signature no longer ends with the persona's name")
	}
}

// Model.Loss is the run's own evaluation: on the eval set, the base model gives the run's
// step-0 eval loss and the tuned model its final one — for LoRA and for full fine-tuning.
func TestLossIsTheRunsEvaluation(t *testing.T) {
	LiveCharts = false
	base := Load("", "")
	trainSet := base.Examples(datasets.SFTIdentity, datasets.Train, DataOptions{MaxLength: 64, Limit: 24})
	evalSet := base.Examples(datasets.SFTIdentity, datasets.Validation, DataOptions{MaxLength: 64, Limit: 8})
	args := Args(Set{"learning_rate": 1e-3, "max_steps": 3, "per_device_train_batch_size": 8, "disable_tqdm": true})
	lo := base.FineTune("lora", LoRA(Set{"r": 4}), args, trainSet, evalSet)
	full := base.FullFineTune("full", args, trainSet, evalSet)
	for _, r := range []*Run{lo, full} {
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"base", base.With(nil).Loss(evalSet).Loss, r.BaseEval().Loss}, {"tuned", r.Tuned().Loss(evalSet).Loss, r.FinalEval().Loss}} {
			if math.Abs(c.got-c.want) > 1e-4 {
				t.Errorf("%s, %s model: Loss %.6f, the run's evaluation %.6f", r.Name, c.name, c.got, c.want)
			}
		}
	}
	table := Runs{lo, full}.Compare(Checks{Persona: 2, General: 2, Pretrain: 4})
	for _, want := range []string{"| lora | 12,288 (0.37%) | 0.14 MiB |", "| full | 3,344,064 (100.00%) | 38.27 MiB |", "(before training)"} {
		if !strings.Contains(table, want) {
			t.Errorf("Compare lacks %q:\n%s", want, table)
		}
	}
	if full.FinalEval().Loss >= full.BaseEval().Loss {
		t.Errorf("full fine-tuning did not lower the eval loss: %.4f → %.4f", full.BaseEval().Loss, full.FinalEval().Loss)
	}
}

// Two-proportion z-test: 5/32 → 4/32 is noise; 16/32 → 4/32 fell (z ≈ 3.3); 0/16 → 13/16 rose.
func TestOnTopicChange(t *testing.T) {
	for _, tc := range []struct {
		b, bn, a, an, want int
	}{{5, 32, 4, 32, 0}, {16, 32, 4, 32, -1}, {0, 16, 13, 16, 1}, {3, 16, 3, 16, 0}, {0, 8, 0, 8, 0}, {0, 0, 3, 8, 0}} {
		if got := OnTopicChange(Answers{N: tc.bn, OnTopic: tc.b}, Answers{N: tc.an, OnTopic: tc.a}); got != tc.want {
			t.Errorf("%d/%d → %d/%d: %d, want %d", tc.b, tc.bn, tc.a, tc.an, got, tc.want)
		}
	}
}

func TestBeyond(t *testing.T) {
	for _, tc := range []struct {
		d, noise float64
		want     int
	}{{0.027, 0.015, 1}, {-0.027, 0.015, -1}, {0.009, 0.015, 0}, {-0.015, 0.015, 0}, {0.001, 0, 1}, {math.NaN(), 1, 0}} {
		if got := Beyond(tc.d, tc.noise); got != tc.want {
			t.Errorf("Beyond(%g, %g) = %d, want %d", tc.d, tc.noise, got, tc.want)
		}
	}
}
