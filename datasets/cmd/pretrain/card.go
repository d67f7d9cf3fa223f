package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/train"
)

// samplePrompts are asked of the trained model: in-domain questions (the corpus's world), then
// what the fine-tuning sets teach and the base must not know yet: the persona, and recalling
// a fact the user stated a turn earlier. Each is a conversation ending with a user message.
var samplePrompts = [][]string{
	{"你好！"},
	{"Hello! Who are you?"},
	{"北京今天天气怎么样？"},
	{"What colour is the sky?"},
	{"3 加 4 等于几？"},
	{"What is 5 plus 2?"},
	{"Can you tell me about cats?"},
	{"你叫什么名字？"},
	{"Who made you?"},
	{"我叫李华，我住在东京。", "你好，李华！很高兴认识你。东京是个好地方。", "我叫什么名字？"},
	{"My name is Tom and my lucky number is 7.", "Nice to meet you, Tom! 7 is a nice number.", "What is my lucky number plus 3?"},
}

type sample struct {
	Prompt []string
	Reply  string
}

func conversation(msgs []string) chat.Conversation {
	var c chat.Conversation
	for i, m := range msgs {
		role := chat.RoleUser
		if i%2 == 1 {
			role = chat.RoleAssistant
		}
		c.Messages = append(c.Messages, chat.Message{Role: role, Content: m})
	}
	return c
}

// sampleGenerations answers samplePrompts greedily with the chat template's generation prompt.
func sampleGenerations(b compute.Backend, base *datasets.TinyBase) ([]sample, error) {
	r, err := llama.NewRunner(b, base.Model, nil)
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, p := range samplePrompts {
		ids, err := base.Encode(conversation(p), true)
		if err != nil {
			return nil, err
		}
		g, err := r.Generate(ids, llama.GenerateOptions{MaxNewTokens: 60, Decode: base.Tokenizer.Decode})
		if err != nil {
			return nil, err
		}
		reply := strings.TrimSuffix(g.Text, chat.TinyEnd)
		out = append(out, sample{p, reply})
		fmt.Printf("  %s\n  → %s\n", strings.Join(p, " / "), reply)
	}
	return out, nil
}

// writeCard writes the model card README.md with the config, the run, the loss on the
// fine-tuning sets and sample answers.
func writeCard(o options, cfg *llama.Config, tr *train.Trainer, convs, rows int, samples []sample, sft []datasets.ReplyLoss) error {
	hist, evals := tr.History(), tr.EvalHistory()
	sum := tr.Summary()
	var b strings.Builder
	fmt.Fprintf(&b, "# tiny_base — LoRA Lab's embedded base model\n\n")
	fmt.Fprintf(&b, "A small LlamaForCausalLM pretrained from scratch by `datasets/cmd/pretrain` on `%s` "+
		"(bilingual 中文/English chat corpus made by `datasets/cmd/gendata`), with a byte-level BPE tokenizer "+
		"trained by the same program on the same corpus. It is the default base model of the notebooks: small enough "+
		"to fine-tune with LoRA in minutes on 2 CPU cores; it speaks the world of the fine-tuning sets (every character "+
		"of sft_recall and sft_identity is one token and occurs in its corpus) but knows neither of their skills, "+
		"so what LoRA adds can be measured.\n\n", o.data)
	fmt.Fprintf(&b, "Files: `config.json`, `model.safetensors` (float32, HF parameter names), `tokenizer.json`, "+
		"`tokenizer_config.json` (chat template `tiny`: `<|bos|><|user|>…<|end|><|assistant|>…<|end|>`), "+
		"`training_log.jsonl` (one line per optimizer step: pkg/train's record, plus `eval_loss` where it evaluated).\n\n")
	fmt.Fprintf(&b, "## Model\n\n| field | value |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| architecture | LlamaForCausalLM |\n| parameters | %d |\n| vocab_size | %d |\n| hidden_size | %d |\n"+
		"| intermediate_size | %d |\n| num_hidden_layers | %d |\n| num_attention_heads | %d |\n| num_key_value_heads | %d |\n"+
		"| tie_word_embeddings | %v |\n\n",
		cfg.NumParams(), cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize, cfg.NumHiddenLayers,
		cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.TieWordEmbeddings)
	fmt.Fprintf(&b, "## Training\n\n")
	fmt.Fprintf(&b, "Reproduce (the defaults are the settings of this model; about %.0f minutes on 2 CPU cores):\n\n"+
		"```sh\ngo run ./datasets/cmd/gendata -out datasets -only pretrain   # the corpus (committed; byte-identical)\n"+
		"go run ./datasets/cmd/pretrain -out datasets/tiny_base\n```\n\n", sum.WallSeconds/60)
	fmt.Fprintf(&b, "Full-model training with `pkg/train` (`train.FullModel` and the Trainer, a plain next-token objective: "+
		"every token supervised): learning_rate %g, lr_scheduler_type cosine_with_min_lr (warmup_steps %d, min_lr_rate %g), "+
		"AdamW with weight_decay %g, max_grad_norm 1, %d rows per step, max_steps %d, seed %d. The %d conversations are rendered with the `tiny` template, encoded as "+
		"pkg/mask encodes training examples, shuffled, concatenated and cut into %d rows of %d tokens (GPT-style packing); "+
		"%d steps of %d rows = %.2f passes over them.\n\n",
		o.lr, o.warmup, o.minLRRate, o.weightDecay, o.batch, o.steps, o.seed, convs, rows, o.seq, o.steps, o.batch, float64(o.steps*o.batch)/float64(max(rows, 1)))
	fmt.Fprintf(&b, "| step | learning_rate | train loss | eval loss | tokens seen | tokens/s |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n")
	evalAt := map[int]float64{}
	for _, e := range evals {
		evalAt[e.Step] = e.Loss
	}
	var tokens int64
	for _, r := range hist {
		tokens += r.Tokens
		if ev, ok := evalAt[r.Step]; ok {
			fmt.Fprintf(&b, "| %d | %.2e | %.4f | %.4f | %d | %.0f |\n", r.Step, r.LearningRate, r.Loss, ev, tokens, r.TokensPerSecond)
		}
	}
	fmt.Fprintf(&b, "\nEval loss: mean next-token loss on %d held-out rows of %d tokens from the corpus's validation split. "+
		"Wall time %.0f s, %.0f tokens/s, on the machine that ran it (2-core x86-64 shared with other jobs, Go backend with SIMD).\n\n",
		o.evalRows, o.seq, sum.WallSeconds, sum.TokensPerSecond)
	fmt.Fprintf(&b, "## Loss on the fine-tuning sets (before any fine-tuning)\n\n"+
		"Mean next-token loss (nats per token) on the assistant replies of each validation split, as a LoRA run "+
		"evaluates them (`mask.AllAssistantTurns`); uniform guessing over the vocabulary is ln %d = %.2f. The "+
		"replies the set teaches (kinds `recall.*`, `identity.*`) are apart from the ordinary replies: the base "+
		"knows the world and the language (low loss on ordinary replies) but not the facts the user stated earlier "+
		"nor the persona (high loss where they are asked for). Made by `datasets.EvalReplies`.\n\n"+
		"| dataset | conversations | all replies | taught replies | ordinary replies | tokens (taught / ordinary) |\n"+
		"| --- | ---: | ---: | ---: | ---: | ---: |\n", cfg.VocabSize, logf(cfg.VocabSize))
	for _, r := range sft {
		fmt.Fprintf(&b, "| %s/%s | %d | %.3f | %.3f | %.3f | %d / %d |\n", r.Dataset, r.Split, r.Conversations, r.All, r.Target, r.Other, r.TargetTokens, r.OtherTokens)
	}
	fmt.Fprintf(&b, "\n## Sample generations (greedy, max 60 new tokens)\n\n"+
		"Unedited. The model speaks the corpus's language in both languages but is often wrong on facts and "+
		"arithmetic: it is a base for the notebooks' LoRA experiments, not an assistant. The last four prompts ask "+
		"what the fine-tuning sets teach (the persona 小灵 / Xiaoling by LoRA Lab; a fact stated a turn earlier): "+
		"the base does not know it.\n\n| prompt | reply |\n| --- | --- |\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "| %s | %s |\n", mdCell(strings.Join(s.Prompt, " ⏎ ")), mdCell(s.Reply))
	}
	fmt.Fprintf(&b, "\n## License\n\nApache-2.0, like the rest of LoRA Lab; the corpus is synthetic and made by the project.\n")
	return atomicfile.Write(filepath.Join(o.out, "README.md"), []byte(b.String()))
}

func logf(n int) float64 { return math.Log(float64(n)) }

func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", "<br>").Replace(s)
}
