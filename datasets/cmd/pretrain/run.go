package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loralab/loralab/pkg/adamw"
	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
	"github.com/loralab/loralab/pkg/llama"
)

// encoder is what the corpus encoding needs of a tokenizer.
type encoder interface {
	Encode(text string) []int
	EncodeSpecial(text string) []int
}

// encodeConversations renders each conversation with the template and returns one token
// stream per conversation: control pieces may hold special tokens, message text never does.
func encodeConversations(tmpl chat.Template, tok encoder, convs []chat.Conversation) ([][]int32, error) {
	out := make([][]int32, 0, len(convs))
	for i, c := range convs {
		segs, err := tmpl.Render(c, false)
		if err != nil {
			return nil, fmt.Errorf("conversation %d: %w", i, err)
		}
		var ids []int32
		for _, s := range segs {
			var piece []int
			if s.Kind == chat.Content {
				piece = tok.Encode(s.Text)
			} else {
				piece = tok.EncodeSpecial(s.Text)
			}
			for _, id := range piece {
				ids = append(ids, int32(id))
			}
		}
		out = append(out, ids)
	}
	return out, nil
}

// rowsOf concatenates the streams in a seeded order and cuts them into rows of seq tokens
// (GPT-style pretraining packing; every conversation starts with BOS).
func rowsOf(streams [][]int32, seq int, rng *rand.Rand) [][]int32 {
	order := rng.Perm(len(streams))
	var flat []int32
	for _, i := range order {
		flat = append(flat, streams[i]...)
	}
	rows := make([][]int32, 0, len(flat)/seq)
	for i := 0; i+seq <= len(flat); i += seq {
		rows = append(rows, flat[i:i+seq])
	}
	return rows
}

func readSplit(dir, split string) ([]chat.Conversation, error) {
	convs, err := data.ReadAll(filepath.Join(dir, split+".parquet"))
	if err != nil {
		return nil, err
	}
	return convs, nil
}

type logRow struct {
	Step     int     `json:"step"`
	LR       float64 `json:"learning_rate"`
	Loss     float64 `json:"loss"`
	GradNorm float64 `json:"grad_norm"`
	EvalLoss float64 `json:"eval_loss,omitempty"`
	Tokens   int     `json:"tokens"`
	TokensPS float64 `json:"tokens_per_second"`
	ElapsedS float64 `json:"elapsed_s"`
}

func run(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	train, err := readSplit(o.data, "train")
	if err != nil {
		return err
	}
	valid, err := readSplit(o.data, "validation")
	if err != nil {
		return err
	}
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		return err
	}
	fmt.Printf("corpus: %d train and %d validation conversations\n", len(train), len(valid))

	tok, err := trainTokenizer(o, tmpl, train)
	if err != nil {
		return err
	}
	trainStreams, err := encodeConversations(tmpl, tok, train)
	if err != nil {
		return err
	}
	validStreams, err := encodeConversations(tmpl, tok, valid)
	if err != nil {
		return err
	}
	ntok := 0
	for _, s := range trainStreams {
		ntok += len(s)
	}
	fmt.Printf("corpus: %d train tokens (%.1f steps of %d×%d per pass)\n", ntok, float64(ntok)/float64(o.batch*o.seq), o.batch, o.seq)
	rng := rand.New(rand.NewPCG(o.seed, 1))
	validRows := rowsOf(validStreams, o.seq, rand.New(rand.NewPCG(o.seed, 2)))
	if len(validRows) > o.evalRows {
		validRows = validRows[:o.evalRows]
	}

	cfg := llama.DefaultConfig(tok.VocabSize(), o.hidden, o.inter, o.layers, o.heads, o.kvHeads)
	cfg.BOSTokenID = llama.TokenIDs{tok.BOSID()}
	cfg.EOSTokenID = llama.TokenIDs{tok.EOSID()}
	cfg.MaxPositionEmbeddings = 1024
	model, err := llama.NewRandomModel(cfg, o.seed)
	if err != nil {
		return err
	}
	b, err := backend.Default()
	if err != nil {
		return err
	}
	fmt.Println(backend.Line(b))
	fmt.Printf("model: %d parameters (%s)\n", cfg.NumParams(), cfgSummary(cfg))

	opt := adamw.DefaultConfig()
	opt.LearningRate = o.lr
	opt.WeightDecay = o.weightDecay
	opt.MaxGradNorm = 1.0
	sched := adamw.Schedule{Type: adamw.CosineWithMinLR, BaseLR: o.lr, WarmupSteps: o.warmup, TotalSteps: o.steps, MinLRRate: o.minLRRate}
	if err := sched.Validate(); err != nil {
		return err
	}
	p, err := newPretrainer(b, model, opt)
	if err != nil {
		return err
	}

	var rows [][]int32
	var log []logRow
	start := time.Now()
	tokens := 0
	epoch := 0
	for step := 0; step < o.steps; step++ {
		if len(rows) < o.batch {
			rows = rowsOf(trainStreams, o.seq, rng)
			epoch++
		}
		batch := rows[:o.batch]
		rows = rows[o.batch:]
		lr := sched.LR(step)
		loss, norm, err := p.trainStep(batch, lr)
		if err != nil {
			return err
		}
		tokens += o.batch * o.seq
		el := time.Since(start).Seconds()
		r := logRow{Step: step + 1, LR: lr, Loss: loss, GradNorm: norm, Tokens: tokens, TokensPS: float64(tokens) / el, ElapsedS: el}
		if (step+1)%o.evalEvery == 0 || step+1 == o.steps {
			if r.EvalLoss, err = p.evalLoss(validRows, o.batch); err != nil {
				return err
			}
		}
		log = append(log, r)
		if (step+1)%10 == 0 || r.EvalLoss != 0 {
			fmt.Printf("step %5d/%d epoch %d lr %.2e loss %.4f gnorm %.3f eval %.4f | %.0f tokens/s | %s\n",
				r.Step, o.steps, epoch, lr, loss, norm, r.EvalLoss, r.TokensPS, time.Duration(el*float64(time.Second)).Round(time.Second))
		}
	}
	trained := p.model()
	if err := trained.Save(o.out); err != nil {
		return err
	}
	if err := writeLog(o, log); err != nil {
		return err
	}
	samples, err := sampleGenerations(b, trained, tok, tmpl)
	if err != nil {
		return err
	}
	return writeCard(o, cfg, log, samples, len(trainStreams), epoch)
}

func cfgSummary(c *llama.Config) string {
	return fmt.Sprintf("vocab %d, hidden %d, %d layers, %d heads (%d kv), intermediate %d",
		c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.IntermediateSize)
}

// writeLog writes the training log as JSON lines.
func writeLog(o options, log []logRow) error {
	var sb strings.Builder
	for _, r := range log {
		b, _ := json.Marshal(r)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	if err := atomicfile.Write(filepath.Join(o.out, "training_log.jsonl"), []byte(sb.String())); err != nil {
		return err
	}
	return nil
}
