package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/backend"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/train"
	"github.com/loralab/loralab/pkg/train/progress"
)

// encodeStreams renders and encodes each conversation (mask.EncodeConversation: message text
// never becomes control tokens) and returns one token stream per conversation.
func encodeStreams(tmpl chat.Template, tok mask.Encoder, convs []chat.Conversation) ([][]int32, error) {
	out := make([][]int32, len(convs))
	for i, c := range convs {
		ids, err := mask.EncodeConversation(c, tmpl, tok, false)
		if err != nil {
			return nil, fmt.Errorf("conversation %d: %w", i, err)
		}
		out[i] = ids
	}
	return out, nil
}

// packRows concatenates the streams in a seeded order and cuts them into rows of seq tokens
// (GPT-style pretraining packing: every conversation starts with BOS, rows cross conversation
// boundaries, the tail shorter than a row is left out).
func packRows(streams [][]int32, seq int, seed uint64) [][]int32 {
	order := rand.New(rand.NewPCG(seed, 1)).Perm(len(streams))
	var flat []int32
	for _, i := range order {
		flat = append(flat, streams[i]...)
	}
	rows := make([][]int32, 0, len(flat)/seq)
	for i := 0; i+seq <= len(flat); i += seq {
		rows = append(rows, flat[i:i+seq:i+seq])
	}
	return rows
}

// lmBatches groups rows into batches of batch rows for a plain next-token objective: every
// token is supervised (labels = input_ids; the loss shifts them).
func lmBatches(rows [][]int32, batch int) []mask.Batch {
	var out []mask.Batch
	for i := 0; i+batch <= len(rows); i += batch {
		out = append(out, mask.Batch{InputIDs: rows[i : i+batch], Labels: rows[i : i+batch]})
	}
	return out
}

func readSplit(dir, split string) ([]chat.Conversation, error) {
	return data.ReadAll(filepath.Join(dir, split+".parquet"))
}

// args returns the trainer's options (HF TrainingArguments names) of a pretraining run.
func (o options) args() train.Args {
	a := train.DefaultArgs()
	a.OutputDir = o.checkpoints
	a.LearningRate = o.lr
	a.PerDeviceTrainBatchSize, a.PerDeviceEvalBatchSize = o.batch, o.batch
	a.MaxSteps = o.steps
	a.LRSchedulerType = "cosine_with_min_lr"
	a.WarmupSteps = o.warmup
	a.MinLRRate = o.minLRRate
	a.WeightDecay = o.weightDecay
	a.MaxGradNorm = 1
	a.Seed = int64(o.seed)
	a.LoggingSteps = 10
	a.EvalSteps = o.evalEvery
	a.SaveSteps = 0
	if o.checkpoints != "" {
		a.SaveSteps, a.SaveTotalLimit = o.evalEvery, 1
	}
	return a
}

func run(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	trainConvs, err := readSplit(o.data, "train")
	if err != nil {
		return err
	}
	validConvs, err := readSplit(o.data, "validation")
	if err != nil {
		return err
	}
	tmpl, err := chat.Lookup("tiny")
	if err != nil {
		return err
	}
	fmt.Printf("corpus: %d train and %d validation conversations\n", len(trainConvs), len(validConvs))

	tok, err := trainTokenizer(o, tmpl, trainConvs)
	if err != nil || o.tokenizerOnly {
		return err
	}
	trainStreams, err := encodeStreams(tmpl, tok, trainConvs)
	if err != nil {
		return fmt.Errorf("%s train: %w", o.data, err)
	}
	validStreams, err := encodeStreams(tmpl, tok, validConvs)
	if err != nil {
		return fmt.Errorf("%s validation: %w", o.data, err)
	}
	trainRows := packRows(trainStreams, o.seq, o.seed)
	validRows := packRows(validStreams, o.seq, o.seed+1)
	if len(validRows) > o.evalRows {
		validRows = validRows[:o.evalRows]
	}
	trainData := &train.BatchLoader{Batches: lmBatches(trainRows, o.batch), Shuffle: true, Seed: int64(o.seed)}
	evalData := &train.BatchLoader{Batches: lmBatches(validRows, o.batch)}
	fmt.Printf("corpus: %d train rows of %d tokens (%d steps of %d rows per pass), %d validation rows\n",
		len(trainRows), o.seq, trainData.NumBatches(), o.batch, len(validRows))

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

	args := o.args()
	fmt.Printf("training: %s\n", args)
	tr, err := train.New(b, train.FullModel(model), args, trainData, evalData)
	if err != nil {
		return err
	}
	progress.Attach(tr, os.Stdout)
	if o.checkpoints != "" {
		resumed, err := tr.Resume("")
		if err != nil {
			return err
		}
		if resumed {
			fmt.Printf("resumed from %s at step %d\n", tr.LastCheckpoint(), tr.Step())
		}
	}
	if err := tr.Train(); err != nil {
		return err
	}
	params, err := tr.Params()
	if err != nil {
		return err
	}
	trained := &llama.Model{Config: cfg, Weights: params}
	if err := trained.Save(o.out); err != nil {
		return err
	}
	if err := writeLog(o, tr.History(), tr.EvalHistory()); err != nil {
		return err
	}
	base := &datasets.TinyBase{Dir: o.out, Model: trained, Tokenizer: tok, Template: tmpl}
	samples, err := sampleGenerations(b, base)
	if err != nil {
		return err
	}
	var sft []datasets.ReplyLoss
	for _, name := range []string{datasets.SFTRecall, datasets.SFTIdentity} {
		r, err := datasets.EvalReplies(b, base, name, datasets.Validation, 0)
		if err != nil {
			return err
		}
		fmt.Printf("%s validation: reply loss %.3f (%s replies %.3f, other replies %.3f)\n", name, r.All,
			strings.TrimPrefix(name, "sft_"), r.Target, r.Other)
		sft = append(sft, r)
	}
	return writeCard(o, cfg, tr, len(trainStreams), len(trainRows), samples, sft)
}

func cfgSummary(c *llama.Config) string {
	return fmt.Sprintf("vocab %d, hidden %d, %d layers, %d heads (%d kv), intermediate %d",
		c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.IntermediateSize)
}

// logRow is one line of training_log.jsonl: a step's record, with the evaluation made after it.
type logRow struct {
	train.Record
	EvalLoss float64 `json:"eval_loss,omitempty"`
}

// writeLog writes the training log as JSON lines, one per optimizer step.
func writeLog(o options, history []train.Record, evals []train.EvalResult) error {
	evalAt := map[int]float64{}
	for _, e := range evals {
		evalAt[e.Step] = e.Loss
	}
	var sb strings.Builder
	for _, r := range history {
		b, err := json.Marshal(logRow{r, evalAt[r.Step]})
		if err != nil {
			return fmt.Errorf("training log, step %d: %w", r.Step, err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return atomicfile.Write(filepath.Join(o.out, "training_log.jsonl"), []byte(sb.String()))
}
