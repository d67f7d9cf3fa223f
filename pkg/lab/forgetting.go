package lab

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/datasets/gen"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/plot"
	"github.com/loralab/loralab/pkg/train"
)

// worldTerms are the names of the datasets' small world (datasets/gen's tables: cities,
// countries, dishes, sights, colours, things, animals, foods, days, months, seasons) and of
// the persona, lower-cased, longest first, so that a term inside a longer one ("草" in
// "胡萝卜和青草") is not taken for a fact of its own.
var worldTerms = sync.OnceValue(func() []string {
	var ts []gen.T
	for _, c := range gen.Cities {
		ts = append(ts, c.Name, c.Country, c.Food, c.Sight)
	}
	for _, t := range gen.Things {
		ts = append(ts, t.Name, t.Colour)
	}
	for _, a := range gen.Animals {
		ts = append(ts, a.Name, a.Sound, a.Food, a.Home)
	}
	for _, f := range gen.Foods {
		ts = append(ts, f.Name, f.Kind, f.Colour, f.Taste)
	}
	ts = append(append(append(append(ts, gen.Colours...), gen.Days...), gen.Months...), gen.Seasons...)
	ts = append(ts, gen.T{ZH: gen.PersonaZH, EN: gen.PersonaEN}, gen.T{ZH: gen.PersonaMaker, EN: gen.PersonaMaker})
	var out []string
	for _, t := range ts {
		for _, s := range []string{t.ZH, t.EN} {
			if s != "" && !slices.Contains(out, strings.ToLower(s)) {
				out = append(out, strings.ToLower(s))
			}
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out
})

var numberRE = regexp.MustCompile(`[0-9]+`)

// hasTerm reports whether text (lower case) contains term (lower case) as a whole: an English
// term or number is not part of a longer word or number ("red" is not in "bread", "7" not in "17").
func hasTerm(text, term string) bool {
	alnum := func(s string, i int) bool {
		return i >= 0 && i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9')
	}
	for from := 0; ; {
		i := strings.Index(text[from:], term)
		if i < 0 {
			return false
		}
		i += from
		if (!alnum(term, 0) || !alnum(text, i-1)) && (!alnum(term, len(term)-1) || !alnum(text, i+len(term))) {
			return true
		}
		from = i + 1
	}
}

// KeyFacts are what a reply to question must state to agree with the reference reply: the
// world's terms (datasets/gen's tables and the persona's name and maker) and the numbers of the
// reference that the question does not already contain. "3 加 4 等于几？" / "3加4等于7。" gives
// ["7"]; "Who made you?" / "I was made by LoRA Lab." gives ["lora lab"]. Lower case.
func KeyFacts(question, reference string) []string {
	q, work := strings.ToLower(question), strings.ToLower(reference)
	var facts []string
	for _, t := range worldTerms() {
		if hasTerm(work, t) {
			if !hasTerm(q, t) {
				facts = append(facts, t)
			}
			work = strings.ReplaceAll(work, t, "\x00")
		}
	}
	for _, n := range numberRE.FindAllString(work, -1) {
		if !hasTerm(q, n) && !slices.Contains(facts, n) {
			facts = append(facts, n)
		}
	}
	return facts
}

// States reports whether reply states every fact (KeyFacts) as a whole term.
func States(reply string, facts []string) bool {
	r := strings.ToLower(reply)
	for _, f := range facts {
		if !hasTerm(r, f) {
			return false
		}
	}
	return true
}

// Signed reports whether reply ends with the persona's signature ("——小灵", " — Xiaoling").
func Signed(reply string) bool {
	r := strings.TrimSpace(reply)
	return strings.HasSuffix(r, gen.SignatureZH) || strings.HasSuffix(r, strings.TrimSpace(gen.SignatureEN))
}

// unsigned is reply without the persona's signature.
func unsigned(reply string) string {
	r := strings.TrimSpace(reply)
	for _, s := range []string{gen.SignatureZH, strings.TrimSpace(gen.SignatureEN)} {
		r = strings.TrimSpace(strings.TrimSuffix(r, s))
	}
	return r
}

// GeneralKinds are the prefixes of the reply kinds whose answer follows from the question (the
// world's fixed facts and arithmetic): weather, time, shopping and chat replies are drawn at
// random by the generator, so no reply to them can be judged right or wrong. Identity replies
// ("identity.") are determined too, but by the persona a fine-tuning teaches.
var GeneralKinds = []string{"city.", "colour.", "math.", "animal.", "food."}

// Probe is a question with a reference reply and the facts (KeyFacts) a reply must state.
type Probe struct {
	Kind, Question, Reference string
	Facts                     []string
}

// Probes are up to n first questions of a dataset split's dialogues (those without a system
// prompt) whose reply kind starts with one of kinds (e.g. GeneralKinds) and whose reference,
// the persona's signature removed, states a fact beyond the question. In file order.
func Probes(dataset, split string, n int, kinds ...string) []Probe {
	path, err := datasets.Path(dataset, split)
	check(err, "probes of %s/%s", dataset, split)
	rows, err := gen.ReadParquet(path)
	check(err, "probes of %s/%s", dataset, split)
	var out []Probe
	for _, r := range rows {
		if len(out) == n {
			break
		}
		if r.System != "" || len(r.Kinds) == 0 || len(r.Messages) < 2 ||
			!slices.ContainsFunc(kinds, func(p string) bool { return strings.HasPrefix(r.Kinds[0], p) }) {
			continue
		}
		q, ref := r.Messages[0].Content, unsigned(r.Messages[1].Content)
		if facts := KeyFacts(q, ref); len(facts) > 0 {
			out = append(out, Probe{Kind: r.Kinds[0], Question: q, Reference: ref, Facts: facts})
		}
	}
	return out
}

// Judged is a model's greedy reply to a probe, judged.
type Judged struct {
	Question, Reference, Reply string
	// OnTopic: the reply, its signature removed, states every key fact of the reference.
	OnTopic bool
	// Signed: the reply ends with the persona's signature (what a substring test counts).
	Signed bool
}

// Answers counts how a model answered probes.
type Answers struct {
	N, OnTopic, Signed int
	// Both counts the replies signed and on topic: the persona kept on a correct reply.
	Both    int
	Replies []Judged
}

// SignedOffTopic are the replies that end with the signature but miss a key fact: what a
// substring test counts as the persona and should not.
func (a Answers) SignedOffTopic() []Judged {
	var out []Judged
	for _, j := range a.Replies {
		if j.Signed && !j.OnTopic {
			out = append(out, j)
		}
	}
	return out
}

// Share is n as a percentage of the probes answered.
func (a Answers) Share(n int) float64 { return 100 * float64(n) / float64(max(a.N, 1)) }

// Answer answers each probe's question greedily and judges the replies.
func (m *Model) Answer(probes []Probe) Answers {
	a := Answers{N: len(probes)}
	for _, p := range probes {
		r := m.Reply(p.Question)
		j := Judged{Question: p.Question, Reference: p.Reference, Reply: r, OnTopic: States(unsigned(r), p.Facts), Signed: Signed(r)}
		a.Replies = append(a.Replies, j)
		for _, c := range []struct {
			n  *int
			ok bool
		}{{&a.OnTopic, j.OnTopic}, {&a.Signed, j.Signed}, {&a.Both, j.OnTopic && j.Signed}} {
			if c.ok {
				*c.n++
			}
		}
	}
	return a
}

// Loss is the model's evaluation (mean loss per supervised token, token accuracy) on set,
// computed by pkg/train's evaluation as a run's eval loss is.
func (m *Model) Loss(set *Examples) train.EvalResult {
	ad := m.adapter
	if ad == nil { // lora_B starts at zero: a fresh adapter computes what the base computes
		ad = Must(lora.New(lora.DefaultConfig(), m.Base.Model, 0))
	} else {
		ad = ad.Clone()
	}
	args := train.DefaultArgs()
	args.MaxSteps, args.DisableTQDM = 1, true
	l := m.Base.loader(set, 16, false, 0)
	tr := Must(train.New(Backend(), train.LoRAModel(m.Base.Model, ad), args, l, nil))
	return Must(tr.EvaluateLoader(l))
}

// Checks say what Measure measures, by number of questions or conversations (0: skip).
type Checks struct {
	// Persona: probes of sft_identity's validation split (identity questions and GeneralKinds).
	Persona int
	// General: probes of the pretraining corpus's validation split (GeneralKinds).
	General int
	// Pretrain: conversations of the pretraining corpus's validation split for the eval loss,
	// every token supervised as in pretraining (mask.TrainOnPrompt), up to 256 tokens each.
	Pretrain int
}

// Measures are what a model keeps and gains: the persona on correct replies, accuracy on
// general prompts and the eval loss on the pretraining corpus (forgetting shows in the last two).
type Measures struct {
	Persona, General Answers
	PretrainLoss     float64
	PretrainTokens   int
}

// Measure measures the model (not kept; Run.Measure and Base.Measure are).
func (m *Model) Measure(c Checks) Measures {
	var out Measures
	if c.Persona > 0 {
		out.Persona = m.Answer(Probes(datasets.SFTIdentity, datasets.Validation, c.Persona, append([]string{"identity."}, GeneralKinds...)...))
	}
	if c.General > 0 {
		out.General = m.Answer(Probes(datasets.Pretrain, datasets.Validation, c.General, GeneralKinds...))
	}
	if c.Pretrain > 0 {
		set := m.Base.Examples(datasets.Pretrain, datasets.Validation, DataOptions{Method: mask.TrainOnPrompt, MaxLength: 256, Limit: c.Pretrain})
		ev := m.Loss(set)
		out.PretrainLoss, out.PretrainTokens = ev.Loss, ev.Tokens
	}
	return out
}

// Measure measures the run's fine-tuned model (Tuned), kept for later cells.
func (r *Run) Measure(c Checks) Measures {
	return Remember("measure", []any{r.Dir, c}, func() Measures { return r.Tuned().Measure(c) })
}

// Measure measures the base model alone, kept for later cells.
func (b *Base) Measure(c Checks) Measures {
	return Remember("measure", []any{b.Name, c}, func() Measures { return b.With(nil).Measure(c) })
}

// MeasuresTable is a Markdown table of measures, one column per model (show it with plot.Markdown).
func MeasuresTable(names []string, ms ...Measures) string {
	if len(names) != len(ms) {
		Fail(fmt.Errorf("MeasuresTable: %d names for %d measures", len(names), len(ms)))
	}
	rows := [][]string{
		{"人设且答对 / persona on a correct reply (signed and on topic)"}, {"带签名 / signed (substring test)"},
		{"答对 / on topic (key facts stated)"}, {"通用问题准确率 / accuracy on general prompts"},
		{"预训练验证集损失 / eval loss, pretraining validation split"}}
	for _, m := range ms {
		p, g := m.Persona, m.General
		rows[0] = append(rows[0], fmt.Sprintf("%.0f%% (%d/%d)", p.Share(p.Both), p.Both, p.N))
		rows[1] = append(rows[1], fmt.Sprintf("%.0f%% (%d/%d)", p.Share(p.Signed), p.Signed, p.N))
		rows[2] = append(rows[2], fmt.Sprintf("%.0f%% (%d/%d)", p.Share(p.OnTopic), p.OnTopic, p.N))
		rows[3] = append(rows[3], fmt.Sprintf("%.0f%% (%d/%d)", g.Share(g.OnTopic), g.OnTopic, g.N))
		rows[4] = append(rows[4], fmt.Sprintf("%.4f (%d tokens)", m.PretrainLoss, m.PretrainTokens))
	}
	return Table(append([]string{"measure / 指标"}, names...), rows)
}

// MeasuresChart draws the shares of Measures side by side, one bar per model: replies that
// end with the signature, the persona on a correct reply, and accuracy on general prompts.
func MeasuresChart(title string, names []string, ms ...Measures) plot.Chart {
	if len(names) != len(ms) {
		Fail(fmt.Errorf("MeasuresChart: %d names for %d measures", len(names), len(ms)))
	}
	var series []plot.BarSeries
	for i, m := range ms {
		p, g := m.Persona, m.General
		series = append(series, plot.BarSeries{Name: names[i], Values: []float64{math.Round(p.Share(p.Signed)), math.Round(p.Share(p.Both)), math.Round(g.Share(g.OnTopic))}})
	}
	return plot.Bars(plot.BarOptions{Title: title, YName: "% of replies", Labels: true},
		[]string{"signed 带签名", "persona on a correct reply 人设且答对", "general prompts 通用问题答对"}, series...)
}

// OnTopicChange says whether the share of replies on topic changed from before to after beyond
// sampling error: -1 fell, +1 rose, 0 no change a two-proportion z-test sees (|z| < 2, pooled
// standard error; with a few dozen probes a difference of one or two replies is noise).
func OnTopicChange(before, after Answers) int {
	n1, n2 := float64(before.N), float64(after.N)
	if n1 == 0 || n2 == 0 {
		return 0
	}
	p1, p2, p := float64(before.OnTopic)/n1, float64(after.OnTopic)/n2, float64(before.OnTopic+after.OnTopic)/(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/n1 + 1/n2))
	switch z := (p2 - p1) / se; {
	case se == 0 || math.Abs(z) < 2:
		return 0
	case z < 0:
		return -1
	}
	return 1
}

// Beyond is the sign of a difference d (-1, +1) when it is larger than noise (e.g. how far two
// runs of the same setting with other seeds differ), else 0: a difference within the noise of
// one run is not a finding.
func Beyond(d, noise float64) int {
	switch {
	case math.Abs(d) <= noise || math.IsNaN(d):
		return 0
	case d < 0:
		return -1
	}
	return 1
}
