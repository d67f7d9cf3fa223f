package adamw_test

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/backend"
)

// A warmup + cosine schedule as HF's Trainer builds it from learning_rate, warmup_ratio and
// lr_scheduler_type="cosine".
func ExampleSchedule() {
	s := adamw.Schedule{Type: adamw.Cosine, BaseLR: 2e-4, WarmupRatio: 0.1, TotalSteps: 100}
	if err := s.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("warmup steps:", s.Warmup())
	for _, step := range []int{0, 5, 10, 55, 99} {
		fmt.Printf("step %2d: lr %.3g (×%.4f)\n", step, s.LR(step), s.Multiplier(step))
	}
	fmt.Println(adamw.Schedule{Type: "cosine_restarts", TotalSteps: 10}.Validate())
	// Output:
	// warmup steps: 10
	// step  0: lr 0 (×0.0000)
	// step  5: lr 0.0001 (×0.5000)
	// step 10: lr 0.0002 (×1.0000)
	// step 55: lr 0.0001 (×0.5000)
	// step 99: lr 6.09e-08 (×0.0003)
	// adamw: unknown lr_scheduler_type "cosine_restarts"; known types: constant, constant_with_warmup, linear, cosine, cosine_with_min_lr, inverse_sqrt
}

// Which group each parameter lands in: HF Trainer's decay / no-decay split, and LoRA+.
func ExampleConfig_Assign() {
	cfg := adamw.DefaultConfig()
	cfg.LearningRate = 2e-4
	cfg.WeightDecay = 0.01
	for _, name := range []string{"model.layers.0.self_attn.q_proj.weight", "model.layers.0.input_layernorm.weight", "model.norm.weight"} {
		h, _ := cfg.Assign(name, []int{16})
		fmt.Printf("%-40s %-8s lr×%g wd %g\n", name, h.Group, h.LRScale, h.WeightDecay)
	}
	cfg.LoRAPlusLRRatio = 16
	for _, name := range []string{
		"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
		"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
		"base_model.model.model.embed_tokens.lora_embedding_B",
	} {
		h, _ := cfg.Assign(name, []int{16, 8})
		fmt.Printf("%-62s %-9s lr %.3g wd %g\n", name, h.Group, h.LRScale*cfg.LearningRate, h.WeightDecay)
	}
	// Output:
	// model.layers.0.self_attn.q_proj.weight   decay    lr×1 wd 0.01
	// model.layers.0.input_layernorm.weight    no_decay lr×1 wd 0
	// model.norm.weight                        no_decay lr×1 wd 0
	// base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight groupA    lr 0.0002 wd 0.01
	// base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight groupB    lr 0.0032 wd 0.01
	// base_model.model.model.embed_tokens.lora_embedding_B           embedding lr 1e-06 wd 0.01
}

// The Optimizer keeps the moments by parameter name; each Step clips and updates in one
// compiled graph. Here the gradient norm 5 is clipped to 1, so with Adam's sign-like first
// step the weight moves by lr = 0.1 after its decay 1 − lr·wd; the bias (no decay, zero
// gradient) stays put. Its state goes into a checkpoint with State().Flatten().
func ExampleOptimizer() {
	b := backend.MustDefault()
	cfg := adamw.DefaultConfig()
	cfg.LearningRate = 0.1
	cfg.WeightDecay = 0.01
	opt, err := adamw.New(b, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	params := map[string]*tensors.Tensor{
		"lin.weight": tensors.FromValue([][]float32{{1, -1}}),
		"lin.bias":   tensors.FromValue([]float32{0.5}),
	}
	grads := map[string]*tensors.Tensor{
		"lin.weight": tensors.FromValue([][]float32{{3, -4}}),
		"lin.bias":   tensors.FromValue([]float32{0}),
	}
	sched := adamw.Schedule{Type: adamw.Constant, BaseLR: cfg.LearningRate}
	info, err := opt.Step(params, grads, sched.LR(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("step %d: grad norm %.4g, clipped %v\n", info.Step, info.GradNorm, info.Clipped)
	fmt.Printf("weight %.4f, bias %.4f\n", params["lin.weight"].Value(), params["lin.bias"].Value())
	st, _ := opt.State()
	fmt.Println("checkpoint tensors:", len(st.Flatten()))
	// Output:
	// step 1: grad norm 5, clipped true
	// weight [[0.8990 -0.8990]], bias [0.5000]
	// checkpoint tensors: 5
}

// UpdateGraph inside a training-step graph: loss, gradients, clipping and the AdamW update run
// in one Exec. Here the "model" is a vector pulled towards a target.
func ExampleUpdateGraph() {
	b := backend.MustDefault()
	cfg := adamw.DefaultConfig()
	cfg.WeightDecay = 0.01
	hypers, _ := cfg.AssignAll([]string{"w"}, [][]int{{2}})
	target := []float32{1, -2}
	trainStep := MustNewExec(b, func(w, m, v, step, lr *Node) []*Node {
		diff := Sub(w, Const(w.Graph(), target))
		loss := ReduceAllSum(Mul(diff, diff))
		grads, norm := adamw.ClipGradNorm(Gradient(loss, w), cfg.MaxGradNorm)
		newW, newM, newV := adamw.UpdateGraph([]*Node{w}, grads, []*Node{m}, []*Node{v}, step, lr, cfg, hypers)
		return []*Node{newW[0], newM[0], newV[0], loss, norm}
	})
	w := tensors.FromValue([]float32{0, 0})
	m, v := tensors.FromValue([]float32{0, 0}), tensors.FromValue([]float32{0, 0})
	sched := adamw.Schedule{Type: adamw.Linear, BaseLR: 0.1, TotalSteps: 100}
	for s := 0; s < 100; s++ {
		out := trainStep.MustExec(w, m, v, s+1, sched.LR(s))
		w, m, v = out[0], out[1], out[2]
		if s%33 == 0 {
			fmt.Printf("step %2d: loss %.4f\n", s, out[3].Value())
		}
	}
	fmt.Printf("w = %.2f\n", w.Value())
	// Output:
	// step  0: loss 5.0000
	// step 33: loss 0.0623
	// step 66: loss 0.0019
	// step 99: loss 0.0000
	// w = [1.00 -2.00]
}

// The group table of a LoRA+ configuration, as a notebook prints it before training.
func ExampleConfig_DescribeGroups() {
	cfg := adamw.DefaultConfig()
	cfg.LearningRate, cfg.WeightDecay, cfg.LoRAPlusLRRatio = 2e-4, 0.01, 16
	names := []string{
		"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
		"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
		"base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
		"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
	}
	dims := [][]int{{8, 256}, {256, 8}, {8, 256}, {256, 8}}
	table, err := cfg.DescribeGroups(names, dims)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(table)
	// Output:
	// group            tensors       values      lr× weight_decay
	// groupA                 2         4096        1         0.01
	// groupB                 2         4096       16         0.01
}

// Decoupled (AdamW) against coupled (Adam + L2) weight decay, the comparison of Loshchilov &
// Hutter (2019). Two weights start at 1: "quiet" gets no loss gradient, "busy" a gradient of
// ±10, alternating (which alone moves it a little, see wd 0). AdamW shrinks both by the same
// 1 − lr·wd each step (20 steps: 0.98). Under L2 the decay wd·p joins the gradient and Adam
// divides it by sqrt(v̂): the quiet weight, whose only gradient is the decay, moves by about lr
// a step (far more than lr·wd·p), while the busy one's large gradients all but cancel its decay.
func ExampleConfig_coupledWeightDecay() {
	for _, c := range []struct {
		name    string
		wd      float64
		coupled bool
	}{{"wd 0", 0, false}, {"AdamW wd 0.1", 0.1, false}, {"Adam+L2 wd 0.1", 0.1, true}} {
		cfg := adamw.DefaultConfig()
		cfg.LearningRate, cfg.WeightDecay, cfg.MaxGradNorm, cfg.CoupledWeightDecay = 0.01, c.wd, 0, c.coupled
		opt, err := adamw.New(backend.MustDefault(), cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		params := map[string]*tensors.Tensor{"quiet.weight": tensors.FromValue([]float32{1}), "busy.weight": tensors.FromValue([]float32{1})}
		for s := range 20 {
			g := float32(10 - 20*(s%2)) // +10, −10, …
			grads := map[string]*tensors.Tensor{"quiet.weight": tensors.FromValue([]float32{0}), "busy.weight": tensors.FromValue([]float32{g})}
			if _, err := opt.Step(params, grads, cfg.LearningRate); err != nil {
				fmt.Println(err)
				return
			}
		}
		fmt.Printf("%-15s after 20 steps: quiet %.4f, busy %.4f\n", c.name, params["quiet.weight"].Value(), params["busy.weight"].Value())
	}
	// Output:
	// wd 0            after 20 steps: quiet [1.0000], busy [0.9831]
	// AdamW wd 0.1    after 20 steps: quiet [0.9802], busy [0.9635]
	// Adam+L2 wd 0.1  after 20 steps: quiet [0.8027], busy [0.9812]
}
