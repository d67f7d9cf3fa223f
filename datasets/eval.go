package datasets

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/loralab/loralab/datasets/gen"
	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/train"
)

// ReplyLoss is a model's mean next-token loss (nats per token) on the assistant replies of a
// fine-tuning split (all replies supervised, as mask.AllAssistantTurns trains them), overall
// and split by reply kind: Target counts the replies the dataset teaches (kinds starting with
// "recall" in sft_recall, "identity" in sft_identity), Other the ordinary in-domain replies.
// For the tiny base model Target should stay high (it must not know the facts or the persona)
// while Other is low (it knows the world and its language).
type ReplyLoss struct {
	Dataset, Split                    string
	Conversations                     int
	All, Target, Other                float64
	Tokens, TargetTokens, OtherTokens int
}

// EvalReplies computes the ReplyLoss of base on the first limit conversations of a
// fine-tuning split (all when limit <= 0), with the evaluation of pkg/train.
func EvalReplies(b compute.Backend, base *TinyBase, name, split string, limit int) (ReplyLoss, error) {
	res := ReplyLoss{Dataset: name, Split: split}
	spec, err := gen.SpecByName(name)
	if err != nil {
		return res, err
	}
	if spec.Target == "" {
		return res, fmt.Errorf("datasets: %s is not a fine-tuning set", name)
	}
	path, err := Path(name, split)
	if err != nil {
		return res, err
	}
	rows, err := gen.ReadParquet(path)
	if err != nil {
		return res, err
	}
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	res.Conversations = len(rows)
	var all, target, other []mask.Example
	for i, row := range rows {
		segs, err := base.Template.Render(row.Conversation(), false)
		if err != nil {
			return res, fmt.Errorf("%s row %d: %w", path, i, err)
		}
		exs, err := mask.Build(segs, base.Tokenizer, mask.AllAssistantTurns, mask.Options{})
		if err != nil {
			return res, fmt.Errorf("%s row %d: %w", path, i, err)
		}
		ex := exs[0]
		// keep returns ex with the labels of the replies whose kind is (or is not) a target kind.
		keep := func(isTarget bool) mask.Example {
			out := ex
			out.Labels = append([]int32(nil), ex.Labels...)
			for j, turn := range ex.Turn {
				if turn >= 0 && int(turn) < len(row.Kinds) && strings.HasPrefix(row.Kinds[turn], spec.Target) != isTarget {
					out.Labels[j] = mask.IgnoreIndex
				}
			}
			return out
		}
		all, target, other = append(all, ex), append(target, keep(true)), append(other, keep(false))
	}
	args := train.DefaultArgs()
	args.MaxSteps, args.DisableTQDM = 1, true
	loader := func(exs []mask.Example) train.Loader {
		return &train.ExampleLoader{Examples: exs, BatchSize: 16, PadID: int32(base.Tokenizer.PadID()), PadToMultipleOf: 64}
	}
	tr, err := train.New(b, train.FullModel(base.Model), args, loader(all), nil)
	if err != nil {
		return res, err
	}
	for _, x := range []struct {
		exs    []mask.Example
		loss   *float64
		tokens *int
	}{{all, &res.All, &res.Tokens}, {target, &res.Target, &res.TargetTokens}, {other, &res.Other, &res.OtherTokens}} {
		ev, err := tr.EvaluateLoader(loader(x.exs))
		if err != nil {
			return res, fmt.Errorf("%s: %w", path, err)
		}
		*x.loss, *x.tokens = ev.Loss, ev.Tokens
	}
	return res, nil
}
