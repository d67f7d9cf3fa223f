package adamw

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph-building style
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/backend"
)

// Parity tolerance against torch (float32 on both sides, different evaluation order):
// |got − want| <= absTol + relTol·|want|. The largest differences seen are listed in the
// report of TestOptimizerMatchesTorch (run with -v).
const (
	relTol = 1e-5
	absTol = 1e-6
)

type goldenFile struct {
	Generator    string                    `json:"generator"`
	TorchVersion string                    `json:"torch_version"`
	Scenarios    map[string]goldenScenario `json:"scenarios"`
}

type goldenScenario struct {
	Description string `json:"description"`
	Config      struct {
		LearningRate        float64 `json:"learning_rate"`
		AdamBeta1           float64 `json:"adam_beta1"`
		AdamBeta2           float64 `json:"adam_beta2"`
		AdamEpsilon         float64 `json:"adam_epsilon"`
		WeightDecay         float64 `json:"weight_decay"`
		MaxGradNorm         float64 `json:"max_grad_norm"`
		CoupledWeightDecay  bool    `json:"coupled_weight_decay"`
		LoRAPlusLRRatio     float64 `json:"loraplus_lr_ratio"`
		LoRAPlusLREmbedding float64 `json:"loraplus_lr_embedding"`
	} `json:"config"`
	Params []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	} `json:"params"`
	Groups []struct {
		Name        string   `json:"name"`
		Params      []string `json:"params"`
		LR          float64  `json:"lr"`
		WeightDecay float64  `json:"weight_decay"`
	} `json:"groups"`
	Init       map[string][]float64            `json:"init"`
	Grads      []map[string][]float64          `json:"grads"`
	LR         []float64                       `json:"lr"`
	GradNorm   []float64                       `json:"grad_norm"`
	Clipped    []bool                          `json:"clipped"`
	Snapshots  map[string]map[string][]float64 `json:"snapshots"`
	FinalState map[string]struct {
		ExpAvg   []float64 `json:"exp_avg"`
		ExpAvgSq []float64 `json:"exp_avg_sq"`
		Step     int       `json:"step"`
	} `json:"final_state"`
}

func (s *goldenScenario) config() Config {
	c := DefaultConfig()
	c.LearningRate = s.Config.LearningRate
	c.AdamBeta1, c.AdamBeta2, c.AdamEpsilon = s.Config.AdamBeta1, s.Config.AdamBeta2, s.Config.AdamEpsilon
	c.WeightDecay = s.Config.WeightDecay
	c.MaxGradNorm = s.Config.MaxGradNorm
	c.CoupledWeightDecay = s.Config.CoupledWeightDecay
	c.LoRAPlusLRRatio = s.Config.LoRAPlusLRRatio
	c.LoRAPlusLREmbedding = s.Config.LoRAPlusLREmbedding
	return c
}

func (s *goldenScenario) dims(name string) []int {
	for _, p := range s.Params {
		if p.Name == name {
			return p.Shape
		}
	}
	return nil
}

func (s *goldenScenario) tensor(name string, flat []float64) *tensors.Tensor {
	f32 := make([]float32, len(flat))
	for i, x := range flat {
		f32[i] = float32(x)
	}
	return tensors.FromFlatDataAndDimensions(f32, s.dims(name)...)
}

func (s *goldenScenario) tensorMap(values map[string][]float64) map[string]*tensors.Tensor {
	out := make(map[string]*tensors.Tensor, len(values))
	for name, flat := range values {
		out[name] = s.tensor(name, flat)
	}
	return out
}

// The golden files: torch.optim.AdamW (gen_golden.py) and torch.optim.Adam with L2 weight
// decay (gen_adam_l2.py, the same scenario runner), in one format.
const (
	adamwGolden  = "adamw_golden.json"
	adamL2Golden = "adam_l2_golden.json"
)

var goldenCache = map[string]*goldenFile{}

// loadGolden reads the AdamW golden file (see loadGoldenFile).
func loadGolden(t testing.TB) *goldenFile { return loadGoldenFile(t, adamwGolden) }

func loadGoldenFile(t testing.TB, file string) *goldenFile {
	t.Helper()
	if g := goldenCache[file]; g != nil {
		return g
	}
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("reading golden file (regenerate with ~/.cache/loralab/venv-test/bin/python pkg/adamw/testdata/gen_*.py): %v", err)
	}
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("parsing testdata/%s: %v", file, err)
	}
	if len(g.Scenarios) == 0 {
		t.Fatalf("testdata/%s has no scenarios", file)
	}
	goldenCache[file] = &g
	return &g
}

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Default()
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	return b
}

// maxErr compares got with want under the parity tolerance. It returns the largest absolute
// difference, the worst ratio diff/(absTol+relTol·|want|) (> 1 fails) and where it is.
type mismatch struct {
	maxAbs   float64
	worst    float64
	worstIdx int
}

func compare(got []float32, want []float64) (mismatch, error) {
	if len(got) != len(want) {
		return mismatch{}, fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	var r mismatch
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		r.maxAbs = max(r.maxAbs, d)
		if q := d / (absTol + relTol*math.Abs(want[i])); q > r.worst {
			r.worst, r.worstIdx = q, i
		}
	}
	return r, nil
}

func flat32(t testing.TB, x *tensors.Tensor) []float32 {
	t.Helper()
	v, err := tensors.CopyFlatData[float32](x)
	if err != nil {
		t.Fatalf("reading tensor: %v", err)
	}
	return v
}

// runScenario runs the Optimizer through the golden scenario and returns the worst tolerance
// ratio over all snapshots and the final state (> 1 means a mismatch), with a description.
func runScenario(t *testing.T, sc *goldenScenario, cfg Config, checkNorms bool, lrAt func(s int) float64) (worst float64, where string) {
	t.Helper()
	opt, err := New(testBackend(t), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	params := sc.tensorMap(sc.Init)
	var maxAbs float64
	note := func(m mismatch, what string) {
		maxAbs = max(maxAbs, m.maxAbs)
		if m.worst > worst {
			worst, where = m.worst, fmt.Sprintf("%s[%d] (max |diff| %.3g)", what, m.worstIdx, m.maxAbs)
		}
	}
	for s := range sc.Grads {
		info, err := opt.Step(params, sc.tensorMap(sc.Grads[s]), lrAt(s))
		if err != nil {
			t.Fatalf("step %d: %v", s+1, err)
		}
		if info.Step != s+1 {
			t.Fatalf("step %d: StepInfo.Step = %d", s+1, info.Step)
		}
		if checkNorms {
			if d := math.Abs(info.GradNorm-sc.GradNorm[s]) / sc.GradNorm[s]; d > 1e-6 {
				t.Errorf("step %d: grad norm %.9g, torch %.9g (rel diff %.2g)", s+1, info.GradNorm, sc.GradNorm[s], d)
			}
			if info.Clipped != sc.Clipped[s] {
				t.Errorf("step %d: clipped = %v, torch %v", s+1, info.Clipped, sc.Clipped[s])
			}
		}
		if snap, ok := sc.Snapshots[fmt.Sprint(s+1)]; ok {
			for _, name := range sortedKeys(snap) {
				m, err := compare(flat32(t, params[name]), snap[name])
				if err != nil {
					t.Fatalf("step %d %s: %v", s+1, name, err)
				}
				note(m, fmt.Sprintf("step %d %s", s+1, name))
			}
		}
	}
	st, err := opt.State()
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	for _, name := range sortedKeys(sc.FinalState) {
		want := sc.FinalState[name]
		if st.Step != want.Step {
			t.Errorf("state step %d, torch %d for %s", st.Step, want.Step, name)
		}
		m, err := compare(flat32(t, st.ExpAvg[name]), want.ExpAvg)
		if err != nil {
			t.Fatalf("exp_avg %s: %v", name, err)
		}
		note(m, "exp_avg "+name)
		m, err = compare(flat32(t, st.ExpAvgSq[name]), want.ExpAvgSq)
		if err != nil {
			t.Fatalf("exp_avg_sq %s: %v", name, err)
		}
		note(m, "exp_avg_sq "+name)
	}
	t.Logf("max |diff| %.3g; worst tolerance ratio %.3g at %s", maxAbs, worst, where)
	return worst, where
}

// TestOptimizerMatchesTorch runs every golden scenario (50 steps each) through Optimizer and
// compares parameters at steps 1, 2, 10, 25, 50, the final moments, the step count, the
// pre-clip gradient norms and whether clipping happened: torch.optim.AdamW, and
// torch.optim.Adam with L2 weight decay for CoupledWeightDecay.
func TestOptimizerMatchesTorch(t *testing.T) {
	for _, c := range []struct{ file, name string }{{adamwGolden, "hf_groups"}, {adamwGolden, "loraplus"},
		{adamL2Golden, "adam_l2_hf_groups"}, {adamL2Golden, "adam_l2_loraplus"}} {
		sc, ok := loadGoldenFile(t, c.file).Scenarios[c.name]
		if !ok {
			t.Fatalf("golden scenario %q missing from %s", c.name, c.file)
		}
		if want := c.file == adamL2Golden; sc.Config.CoupledWeightDecay != want || sc.Config.WeightDecay == 0 {
			t.Fatalf("golden scenario %q: coupled_weight_decay %v (want %v), weight_decay %g", c.name,
				sc.Config.CoupledWeightDecay, want, sc.Config.WeightDecay)
		}
		name := c.name
		t.Run(name, func(t *testing.T) {
			if len(sc.Grads) != 50 || len(sc.Snapshots) == 0 {
				t.Fatalf("golden scenario has %d steps and %d snapshots", len(sc.Grads), len(sc.Snapshots))
			}
			worst, where := runScenario(t, &sc, sc.config(), true, func(s int) float64 { return sc.LR[s] })
			if worst > 1 {
				t.Errorf("mismatch with torch beyond tolerance (abs %g + rel %g): ratio %.3g at %s", absTol, relTol, worst, where)
			}
		})
	}
}

// TestGroupsMatchTorch checks that each parameter's group, learning rate and weight decay are
// the ones the golden script gave torch (HF Trainer groups; PEFT LoRA+ groups).
func TestGroupsMatchTorch(t *testing.T) {
	scenarios := maps.Clone(loadGolden(t).Scenarios)
	maps.Copy(scenarios, loadGoldenFile(t, adamL2Golden).Scenarios)
	for name, sc := range scenarios {
		t.Run(name, func(t *testing.T) {
			cfg := sc.config()
			seen := 0
			for _, grp := range sc.Groups {
				for _, p := range grp.Params {
					seen++
					h, err := cfg.Assign(p, sc.dims(p))
					if err != nil {
						t.Fatalf("Assign(%q): %v", p, err)
					}
					if h.Group != grp.Name {
						t.Errorf("%s: group %q, torch %q", p, h.Group, grp.Name)
					}
					if lr := h.LRScale * cfg.LearningRate; math.Abs(lr-grp.LR) > 1e-12*grp.LR {
						t.Errorf("%s: lr %g, torch %g", p, lr, grp.LR)
					}
					if h.WeightDecay != grp.WeightDecay {
						t.Errorf("%s: weight decay %g, torch %g", p, h.WeightDecay, grp.WeightDecay)
					}
				}
			}
			if seen != len(sc.Params) {
				t.Errorf("golden groups list %d params, scenario has %d", seen, len(sc.Params))
			}
		})
	}
}

// TestParityDetectsMistakes shows the parity comparison is sharp enough to catch the usual
// mistakes: each variant changes one thing and must fail the tolerance.
func TestParityDetectsMistakes(t *testing.T) {
	g, l2 := loadGolden(t), loadGoldenFile(t, adamL2Golden)
	hf, lp := g.Scenarios["hf_groups"], g.Scenarios["loraplus"]
	l2hf, l2lp := l2.Scenarios["adam_l2_hf_groups"], l2.Scenarios["adam_l2_loraplus"]
	tests := []struct {
		name   string
		sc     *goldenScenario
		modify func(*Config)
		lrAt   func(sc *goldenScenario, s int) float64 // nil: the golden rates
	}{
		{"decay on every parameter", &hf, func(c *Config) { c.NoDecay = func(string, []int) bool { return false } }, nil},
		{"no gradient clipping", &hf, func(c *Config) { c.MaxGradNorm = 0 }, nil},
		{"epsilon 1e-4", &hf, func(c *Config) { c.AdamEpsilon = 1e-4 }, nil},
		{"schedule one step late", &hf, func(*Config) {}, func(sc *goldenScenario, s int) float64 { return sc.LR[max(s-1, 0)] }},
		{"beta2 0.99", &hf, func(c *Config) { c.AdamBeta2 = 0.99 }, nil},
		{"LoRA+ off", &lp, func(c *Config) { c.LoRAPlusLRRatio = 0 }, nil},
		{"LoRA+ embedding at base rate", &lp, func(c *Config) { c.LoRAPlusLREmbedding = c.LearningRate }, nil},
		{"1-D params without decay", &lp, func(c *Config) { c.NoDecay = NoDecayOneDim }, nil},
		{"coupled L2 where torch ran AdamW", &hf, func(c *Config) { c.CoupledWeightDecay = true }, nil},
		{"decoupled decay where torch ran Adam+L2", &l2hf, func(c *Config) { c.CoupledWeightDecay = false }, nil},
		{"L2 decay on every parameter", &l2hf, func(c *Config) { c.NoDecay = func(string, []int) bool { return false } }, nil},
		{"decoupled decay with LoRA+ (Adam+L2)", &l2lp, func(c *Config) { c.CoupledWeightDecay = false }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.sc.config()
			tc.modify(&cfg)
			lrAt := func(s int) float64 { return tc.sc.LR[s] }
			if tc.lrAt != nil {
				lrAt = func(s int) float64 { return tc.lrAt(tc.sc, s) }
			}
			if worst, _ := runScenario(t, tc.sc, cfg, false, lrAt); worst <= 1 {
				t.Errorf("variant %q still matches torch within tolerance (ratio %.3g): the test cannot see it", tc.name, worst)
			}
		})
	}
}

// TestUpdateGraphFused drives UpdateGraph and ClipGradNorm from a hand-written Exec — the way
// a trainer fuses them into its step — for the first 10 steps of the HF scenario.
func TestUpdateGraphFused(t *testing.T) {
	g := loadGolden(t)
	sc := g.Scenarios["hf_groups"]
	cfg := sc.config()
	names := make([]string, len(sc.Params))
	dims := make([][]int, len(sc.Params))
	for i, p := range sc.Params {
		names[i], dims[i] = p.Name, p.Shape
	}
	hypers, err := cfg.AssignAll(names, dims)
	if err != nil {
		t.Fatal(err)
	}
	n := len(names)
	exec, err := NewExec(testBackend(t), func(in []*Node) []*Node {
		grads, norm := ClipGradNorm(in[n:2*n], cfg.MaxGradNorm)
		p, m, v := UpdateGraph(in[:n], grads, in[2*n:3*n], in[3*n:4*n], in[4*n], in[4*n+1], cfg, hypers)
		return append(append(append(p, m...), v...), norm)
	})
	if err != nil {
		t.Fatal(err)
	}
	state := make([]*tensors.Tensor, 3*n) // params, m, v
	for i, name := range names {
		state[i] = sc.tensor(name, sc.Init[name])
		state[n+i] = tensors.FromShape(state[i].Shape())
		state[2*n+i] = tensors.FromShape(state[i].Shape())
	}
	for s := 0; s < 10; s++ {
		args := make([]any, 0, 4*n+2)
		for i := 0; i < n; i++ {
			args = append(args, state[i])
		}
		for _, name := range names {
			args = append(args, sc.tensor(name, sc.Grads[s][name]))
		}
		for i := n; i < 3*n; i++ {
			args = append(args, state[i])
		}
		args = append(args, int32(s+1), float32(sc.LR[s])) // other dtypes than Optimizer uses
		outs, err := exec.Exec(args...)
		if err != nil {
			t.Fatalf("step %d: %v", s+1, err)
		}
		copy(state, outs[:3*n])
		if norm := outs[3*n].Value().(float64); math.Abs(norm-sc.GradNorm[s]) > 1e-6*sc.GradNorm[s] {
			t.Errorf("step %d: norm %g, torch %g", s+1, norm, sc.GradNorm[s])
		}
	}
	for i, name := range names {
		m, err := compare(flat32(t, state[i]), sc.Snapshots["10"][name])
		if err != nil {
			t.Fatal(err)
		}
		// The lr is given as float32 here, so allow the rounding of the rate itself (~6e-8 rel).
		if m.worst > 1 {
			t.Errorf("%s after 10 steps: worst tolerance ratio %.3g at %d (max |diff| %.3g)", name, m.worst, m.worstIdx, m.maxAbs)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	b := testBackend(t)
	tests := []struct {
		name     string
		grads    [][]float32
		maxNorm  float64
		wantNorm float64
		wantCoef float64 // factor applied to every gradient
	}{
		{"below max: unchanged", [][]float32{{0.3, 0.4}}, 1, 0.5, 1},
		{"above max: scaled", [][]float32{{3, 4}, {12}}, 1, 13, 1 / (13 + 1e-6)},
		{"disabled", [][]float32{{3, 4}}, 0, 5, 1},
		{"several tensors", [][]float32{{1, 2}, {2}, {4}}, 2.5, 5, 2.5 / (5 + 1e-6)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]any, len(tc.grads))
			for i, g := range tc.grads {
				args[i] = g
			}
			outs, err := ExecOnceN(b, func(in []*Node) []*Node {
				c, norm := ClipGradNorm(in, tc.maxNorm)
				return append(c, norm)
			}, args...)
			if err != nil {
				t.Fatal(err)
			}
			if norm := outs[len(outs)-1].Value().(float64); math.Abs(norm-tc.wantNorm) > 1e-6 {
				t.Errorf("norm %g, want %g", norm, tc.wantNorm)
			}
			for i, g := range tc.grads {
				got := flat32(t, outs[i])
				for j := range g {
					want := float64(g[j]) * tc.wantCoef
					if math.Abs(float64(got[j])-want) > 1e-6*math.Abs(want)+1e-9 {
						t.Errorf("grad %d[%d] = %g, want %g", i, j, got[j], want)
					}
				}
			}
		})
	}
}

// TestClipGradNormNonFinite: like torch with error_if_nonfinite=False (checked with torch
// 1.13), an Inf norm zeroes the finite gradients and a NaN norm makes every gradient NaN.
func TestClipGradNormNonFinite(t *testing.T) {
	b := testBackend(t)
	nan := math.NaN()
	tests := []struct {
		bad  float32
		want [][]float64 // expected clipped gradients of {1, bad} and {2}
	}{
		{float32(math.Inf(1)), [][]float64{{0, nan}, {0}}},
		{float32(math.NaN()), [][]float64{{nan, nan}, {nan}}},
	}
	for _, tc := range tests {
		outs, err := ExecOnceN(b, func(in []*Node) []*Node {
			c, norm := ClipGradNorm(in, 1)
			return append(c, norm)
		}, []float32{1, tc.bad}, []float32{2})
		if err != nil {
			t.Fatal(err)
		}
		if norm := outs[2].Value().(float64); !math.IsNaN(norm) && !math.IsInf(norm, 1) {
			t.Errorf("grad %v: norm %g, want Inf or NaN", tc.bad, norm)
		}
		for i, want := range tc.want {
			got := flat32(t, outs[i])
			for j := range want {
				if math.IsNaN(want[j]) != math.IsNaN(float64(got[j])) || (!math.IsNaN(want[j]) && float64(got[j]) != want[j]) {
					t.Errorf("grad %v: clipped[%d][%d] = %v, want %v", tc.bad, i, j, got[j], want[j])
				}
			}
		}
	}
}

// TestStateRoundTrip: stopping after k steps, exporting the state through Flatten /
// UnflattenState into a fresh Optimizer and continuing gives exactly the parameters of an
// uninterrupted run.
func TestStateRoundTrip(t *testing.T) {
	g := loadGolden(t)
	sc := g.Scenarios["loraplus"]
	b := testBackend(t)
	run := func(opt *Optimizer, params map[string]*tensors.Tensor, from, to int) {
		for s := from; s < to; s++ {
			if _, err := opt.Step(params, sc.tensorMap(sc.Grads[s]), sc.LR[s]); err != nil {
				t.Fatalf("step %d: %v", s+1, err)
			}
		}
	}
	full, err := New(b, sc.config())
	if err != nil {
		t.Fatal(err)
	}
	want := sc.tensorMap(sc.Init)
	run(full, want, 0, 12)

	first, err := New(b, sc.config())
	if err != nil {
		t.Fatal(err)
	}
	got := sc.tensorMap(sc.Init)
	run(first, got, 0, 7)
	st, err := first.State()
	if err != nil {
		t.Fatal(err)
	}
	flat := st.Flatten()
	if len(flat) != 2*len(sc.Params)+1 {
		t.Fatalf("Flatten gave %d tensors, want %d", len(flat), 2*len(sc.Params)+1)
	}
	restored, err := UnflattenState(flat)
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(b, sc.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := second.SetState(restored); err != nil {
		t.Fatal(err)
	}
	if second.StepCount() != 7 {
		t.Fatalf("restored step count %d, want 7", second.StepCount())
	}
	run(second, got, 7, 12)
	for _, name := range sortedKeys(want) {
		a, b := flat32(t, got[name]), flat32(t, want[name])
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", name, i, a[i], b[i])
			}
		}
	}
}

func TestOptimizerErrors(t *testing.T) {
	b := testBackend(t)
	p := func(v ...float32) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, len(v)) }
	newOpt := func(t *testing.T) *Optimizer {
		o, err := New(b, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	t.Run("grads missing a name", func(t *testing.T) {
		_, err := newOpt(t).Step(map[string]*tensors.Tensor{"a": p(1), "b": p(2)}, map[string]*tensors.Tensor{"a": p(1)}, 1e-3)
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("shape mismatch", func(t *testing.T) {
		_, err := newOpt(t).Step(map[string]*tensors.Tensor{"a": p(1, 2)}, map[string]*tensors.Tensor{"a": p(1)}, 1e-3)
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("parameter set changes", func(t *testing.T) {
		o := newOpt(t)
		if _, err := o.Step(map[string]*tensors.Tensor{"a": p(1)}, map[string]*tensors.Tensor{"a": p(1)}, 1e-3); err != nil {
			t.Fatal(err)
		}
		_, err := o.Step(map[string]*tensors.Tensor{"b": p(1)}, map[string]*tensors.Tensor{"b": p(1)}, 1e-3)
		if err == nil {
			t.Fatal("no error")
		}
		if o.StepCount() != 1 {
			t.Errorf("failed step changed the step count to %d", o.StepCount())
		}
	})
	t.Run("bad learning rate", func(t *testing.T) {
		for _, lr := range []float64{-1, math.NaN(), math.Inf(1)} {
			if _, err := newOpt(t).Step(map[string]*tensors.Tensor{"a": p(1)}, map[string]*tensors.Tensor{"a": p(1)}, lr); err == nil {
				t.Errorf("lr %v: no error", lr)
			}
		}
	})
	t.Run("bad config", func(t *testing.T) {
		for _, mod := range []func(*Config){
			func(c *Config) { c.AdamBeta1 = 1 },
			func(c *Config) { c.AdamBeta2 = -0.1 },
			func(c *Config) { c.AdamEpsilon = math.NaN() },
			func(c *Config) { c.WeightDecay = -1 },
			func(c *Config) { c.LoRAPlusLRRatio = 4; c.Groups = []Group{{Name: "all"}} },
			func(c *Config) { c.Groups = []Group{{Name: "x", LRScale: -1}} },
		} {
			c := DefaultConfig()
			mod(&c)
			if _, err := New(b, c); err == nil {
				t.Errorf("config %+v: no error", c)
			}
		}
	})
	t.Run("no group matches", func(t *testing.T) {
		c := DefaultConfig()
		c.Groups = []Group{{Name: "lora", Match: func(n string, _ []int) bool { return false }}}
		o, err := New(b, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Step(map[string]*tensors.Tensor{"a": p(1)}, map[string]*tensors.Tensor{"a": p(1)}, 1e-3); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("state with unknown tensor", func(t *testing.T) {
		_, err := UnflattenState(map[string]*tensors.Tensor{"step": tensors.FromValue(int64(3)), "a.momentum": p(1)})
		if err == nil {
			t.Fatal("no error")
		}
	})
}

func TestAssign(t *testing.T) {
	base := DefaultConfig()
	base.WeightDecay = 0.01
	base.LearningRate = 2e-4
	lp := base
	lp.LoRAPlusLRRatio = 16
	custom := base
	custom.Groups = []Group{
		{Name: "lora_B", Match: func(n string, _ []int) bool { return strings.Contains(n, "lora_B") }, LRScale: 4, WeightDecay: 0.1},
		{Name: "rest"},
	}
	tests := []struct {
		cfg  Config
		name string
		dims []int
		want Hyper
	}{
		{base, "model.layers.0.self_attn.q_proj.weight", []int{8, 8}, Hyper{"decay", 1, 0.01}},
		{base, "model.layers.0.self_attn.q_proj.bias", []int{8}, Hyper{"no_decay", 1, 0}},
		{base, "model.layers.0.input_layernorm.weight", []int{8}, Hyper{"no_decay", 1, 0}},
		{base, "model.layers.0.post_attention_layernorm.weight", []int{8}, Hyper{"no_decay", 1, 0}},
		{base, "model.norm.weight", []int{8}, Hyper{"no_decay", 1, 0}},
		{base, "model.layers.0.self_attn.q_norm.weight", []int{8}, Hyper{"no_decay", 1, 0}},
		{base, "model.layers.0.mlp.scale", []int{8}, Hyper{"decay", 1, 0.01}}, // HF decays 1-D non-norm
		{base, "model.normalizer.weight", []int{8, 8}, Hyper{"decay", 1, 0.01}},
		{base, "model.embed_tokens.weight", []int{16, 8}, Hyper{"decay", 1, 0.01}},
		{lp, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", []int{4, 8}, Hyper{"groupA", 1, 0.01}},
		{lp, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", []int{8, 4}, Hyper{"groupB", 16, 0.01}},
		{lp, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight", []int{4, 8}, Hyper{"groupA", 1, 0.01}},
		{lp, "base_model.model.model.embed_tokens.lora_embedding_A", []int{4, 16}, Hyper{"embedding", 1e-6 / 2e-4, 0.01}},
		{lp, "base_model.model.model.embed_tokens.lora_embedding_B", []int{8, 4}, Hyper{"embedding", 1e-6 / 2e-4, 0.01}},
		{lp, "base_model.model.model.layers.0.mlp.down_proj.bias", []int{8}, Hyper{"groupB_no_decay", 16, 0}},
		{lp, "base_model.model.lm_head.weight", []int{16, 8}, Hyper{"groupA", 1, 0.01}},
		{custom, "x.lora_B.weight", []int{8, 4}, Hyper{"lora_B", 4, 0.1}},
		{custom, "x.lora_A.weight", []int{4, 8}, Hyper{"rest", 1, 0}},
	}
	for _, tc := range tests {
		got, err := tc.cfg.Assign(tc.name, tc.dims)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got.Group != tc.want.Group || math.Abs(got.LRScale-tc.want.LRScale) > 1e-12*tc.want.LRScale || got.WeightDecay != tc.want.WeightDecay {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	lpNoLR := lp
	lpNoLR.LearningRate = 0
	if _, err := lpNoLR.Assign("m.embed_tokens.lora_embedding_B", []int{8, 4}); err == nil {
		t.Error("LoRA+ embedding without learning_rate: no error")
	}
}
