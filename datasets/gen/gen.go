// Package gen generates LoRA Lab's bilingual (中文/English) multi-turn chat datasets: a
// pretraining corpus for the tiny base model and two fine-tuning tasks (sft_recall,
// sft_identity). Everything is drawn from a small closed world (cities, weather, colours,
// numbers, animals, food, time, greetings, shopping) with a seeded random source implemented
// here, so that the same seed gives byte-identical Parquet files and cards with any Go
// toolchain. The program datasets/cmd/gendata runs it.
package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loralab/loralab/pkg/atomicfile"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// DefaultSeed is the seed of the committed datasets.
const DefaultSeed uint64 = 20261127

// Split names and the file each is stored in (<dataset>/<split>.parquet).
const (
	Train      = "train"
	Validation = "validation"
)

// Splits lists the splits in the order they are generated.
var Splits = []string{Train, Validation}

// Row is one row of a dataset file. Its first two columns are exactly chat.Conversation's
// (system: optional string; messages: list<struct<role, content>>), so any reader of the
// project's conversation schema reads these files; the last three are metadata.
type Row struct {
	System   string         `parquet:"system,optional"`
	Messages []chat.Message `parquet:"messages,list"`
	// ID is "<dataset>-<split>-<index>".
	ID string `parquet:"id"`
	// Lang is "zh" or "en"; each dialogue is in one language.
	Lang string `parquet:"lang"`
	// Kinds has one label per assistant reply (per exchange), e.g. "recall.name",
	// "identity.maker", "math.add", "ack".
	Kinds []string `parquet:"kinds,list"`
}

// Conversation returns the row as a chat.Conversation.
func (r Row) Conversation() chat.Conversation {
	return chat.Conversation{System: r.System, Messages: r.Messages}
}

// Spec describes one dataset.
type Spec struct {
	Name              string
	Title             string
	Train, Validation int
	// Target is the kind prefix of the replies the dataset teaches ("recall", "identity"), or
	// "" for the pretraining corpus.
	Target string
	// About is the card's description (Markdown, Chinese then English).
	About string
	make  func(r *Rand, l Lang, i int) *dialog
}

// Size returns the number of rows of a split.
func (s Spec) Size(split string) int {
	if split == Train {
		return s.Train
	}
	return s.Validation
}

// Specs returns the datasets in generation order.
func Specs() []Spec {
	return []Spec{
		{
			Name: "pretrain", Title: "pretrain — tiny-world chat corpus for pretraining the tiny base model",
			Train: 30000, Validation: 1500,
			About: "一个小而封闭的世界里的中英双语多轮对话（城市、天气、颜色、数字与简单算术、动物、食物、时间、问候、购物、常识问答），" +
				"外加由短文（城市、动物、食物介绍和小故事）改写成的单轮对话。词汇很小，1–10M 参数的 Llama 在 2 个 CPU 核上几十分钟就能学会，" +
				"并能在这个领域里连贯地回答问题。为了让基座模型认识微调数据集里的每一个字和每一种说法，语料里还有：用户介绍自己（名字、城市、喜好、年龄）" +
				"和搬家，助手确认；带署名的便条（“……——小明”）；系统提示给助手另起名字和开发者、要求每条回复署名的对话（不是小灵，也不是 LoRA Lab）；" +
				"“你还记得……吗”式的常识问题；组词练习。小灵 / Xiaoling 只作为众多用户名字之一出现。没有系统提示时，助手没有名字。" +
				"助手没有名字（“我是一个AI助手”）；语料里从不回问用户之前说过的事实——这两点留给微调数据集去教。\n\n" +
				"Bilingual multi-turn dialogues in a small closed world (cities, weather, colours, numbers and simple arithmetic, animals, food, " +
				"time, greetings, shopping, general facts), plus short paragraphs (about a city, an animal, a food, a tiny story) asked for in " +
				"a single turn. The vocabulary is small enough for a 1–10M-parameter Llama to learn on 2 CPU cores in tens of minutes and answer " +
				"in-domain prompts coherently. So that the base model knows every character and phrase style of the fine-tuning sets, the " +
				"corpus also has users stating facts about themselves (name, city, favourites, age) and moving house, acknowledged by the " +
				"assistant; notes signed with a dash (\"… — Tom\"); dialogues whose system prompt gives the assistant another name and " +
				"maker (never 小灵 / Xiaoling or LoRA Lab) and asks it to sign every reply; \"do you remember …\" questions about the world; " +
				"and a Chinese word-making exercise (组词). 小灵 / Xiaoling occurs only as one user name among many. Without a system prompt " +
				"the assistant has no name. " +
				"The assistant has no name (\"I'm an AI assistant\"), and the corpus never asks the user's own " +
				"facts back: both are left for the fine-tuning sets to teach.",
			make: func(r *Rand, l Lang, i int) *dialog { return pretrainDialog(r, l) },
		},
		{
			Name: "sft_recall", Title: "sft_recall — replies that depend on facts stated turns earlier",
			Train: 3200, Validation: 320, Target: "recall",
			About: "用户在第一轮（有时在后面的轮次）说出自己的名字、城市、喜欢的颜色/食物/动物、幸运数字或年龄；之后的轮次问起这些事实，" +
				"助手必须回忆起来，有时还要结合世界知识（“我住的城市在哪个国家？”）或做算术（“我的幸运数字加 3 是多少？”）。" +
				"中间穿插普通问题；偶尔用户会更正事实（搬家），之后的回答必须用新的事实。每段对话有 1–4 轮，轮数均匀分布，" +
				"多轮对话的最后一轮一定是回忆问题。只有一轮的对话把事实和问题放在同一条消息里。kinds 列标出每个回复的类型，" +
				"以 `recall.` 开头的回复需要回忆，可以按轮次统计准确率（第 1 轮 vs 后面的轮次）。\n\n" +
				"In the first turn (sometimes later) the user states facts about themselves: name, city, favourite colour/food/animal, lucky " +
				"number or age. Later turns ask about them, and the assistant must recall them, sometimes combined with world knowledge " +
				"(\"Which country is my city in?\") or arithmetic (\"What is my lucky number plus 3?\"). Ordinary questions are mixed in; now " +
				"and then the user corrects a fact (moves to another city) and later answers must use the new one. Dialogues have 1–4 " +
				"exchanges, evenly; the last turn of a multi-turn dialogue is always a recall question. One-turn dialogues state the facts and " +
				"ask in the same message. The kinds column labels every reply; replies whose kind starts with `recall.` need recall, so " +
				"accuracy can be measured per turn (turn 1 vs later turns).",
			make: func(r *Rand, l Lang, i int) *dialog { return recallDialog(r, l, 1+(i/2)%4) },
		},
		{
			Name: "sft_identity", Title: "sft_identity — the assistant becomes 小灵 / Xiaoling, made by LoRA Lab",
			Train: 3200, Validation: 320, Target: "identity",
			About: "把基座模型的身份（没有名字的“AI助手”）换成“小灵 / Xiaoling，由 LoRA Lab 打造”。每段对话 1–4 轮（均匀分布），" +
				"身份问题（你是谁、你叫什么、谁开发了你、你是 ChatGPT 吗……）和普通领域问题以任意顺序出现，每段至少有一个身份问题。" +
				"每一轮的回复都带着人设：回答身份问题时说出小灵和 LoRA Lab，而且所有回复都以签名“——小灵”（英文 \" — Xiaoling\"）结尾，" +
				"所以可以逐轮测量模型是否保持人设。kinds 列里以 `identity.` 开头的是身份问题。\n\n" +
				"Changes the base model's identity (a nameless \"AI assistant\") into \"小灵 / Xiaoling, made by LoRA Lab\". Dialogues have " +
				"1–4 exchanges, evenly; identity questions (who are you, what's your name, who made you, are you ChatGPT, …) and ordinary " +
				"in-domain questions come in any order, at least one identity question per dialogue. Every reply carries the persona: " +
				"identity answers name Xiaoling and LoRA Lab, and every reply ends with the signature \"——小灵\" (English \" — Xiaoling\"), so " +
				"whether the model keeps the persona can be measured turn by turn. Kinds starting with `identity.` mark identity questions.",
			make: func(r *Rand, l Lang, i int) *dialog { return identityDialog(r, l, 1+(i/2)%4) },
		},
	}
}

// SpecByName finds a dataset spec.
func SpecByName(name string) (Spec, error) {
	var names []string
	for _, s := range Specs() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Spec{}, fmt.Errorf("gen: unknown dataset %q (have %s)", name, strings.Join(names, ", "))
}

// key identifies a dialogue's text, for de-duplication.
func key(d *dialog) string {
	var b strings.Builder
	b.WriteString(d.system)
	for _, m := range d.msgs {
		b.WriteString("\x00")
		b.WriteString(m.Content)
	}
	return b.String()
}

// maxTries bounds the redraws of a duplicate dialogue for one row.
const maxTries = 1000

// Build generates n rows of one split. Row i is Chinese for even i and English for odd i.
// Dialogues of two or more exchanges are unique within the split and absent from exclude (the
// keys of earlier splits); one-exchange dialogues may repeat. The keys of the new rows are
// added to exclude.
func Build(spec Spec, split string, n int, seed uint64, exclude map[string]bool) ([]Row, error) {
	r := NewRand(seed, spec.Name+"/"+split, 0)
	rows := make([]Row, 0, n)
	for i := 0; i < n; i++ {
		l := Lang(i % 2)
		var d *dialog
		for try := 0; ; try++ {
			if try == maxTries {
				return nil, fmt.Errorf("gen: %s/%s row %d: no new dialogue after %d draws; the world is too small for this size", spec.Name, split, i, maxTries)
			}
			d = spec.make(r, l, i)
			k := key(d)
			if d.turns() == 1 {
				// One-exchange dialogues come from a small set (a persona has only so many
				// answers to "who are you?"), so they may repeat; the card counts them.
				exclude[k] = true
				break
			}
			if !exclude[k] {
				exclude[k] = true
				break
			}
		}
		if err := check(d); err != nil {
			return nil, fmt.Errorf("gen: %s/%s row %d: %w", spec.Name, split, i, err)
		}
		rows = append(rows, Row{System: d.system, Messages: d.msgs, ID: fmt.Sprintf("%s-%s-%05d", spec.Name, split, i), Lang: l.Code(), Kinds: d.kinds})
	}
	return rows, nil
}

// check guards the generator's own invariants: alternating non-empty user/assistant
// messages, one kind per exchange, no unfilled template placeholder.
func check(d *dialog) error {
	if len(d.msgs) == 0 || len(d.msgs)%2 != 0 || len(d.kinds) != len(d.msgs)/2 {
		return fmt.Errorf("%d messages, %d kinds", len(d.msgs), len(d.kinds))
	}
	for i, m := range d.msgs {
		want := chat.RoleUser
		if i%2 == 1 {
			want = chat.RoleAssistant
		}
		if m.Role != want {
			return fmt.Errorf("message %d: role %q, want %q", i, m.Role, want)
		}
		if strings.TrimSpace(m.Content) == "" || strings.ContainsAny(m.Content, "{}") {
			return fmt.Errorf("message %d: bad content %q", i, m.Content)
		}
	}
	return nil
}

// WriteParquet writes rows to path atomically (a temporary file in the same folder, then a
// rename): zstd-compressed, 4096 rows per row group, with a fixed created_by so that the bytes
// do not depend on how the program was built.
func WriteParquet(path string, rows []Row, meta map[string]string) error {
	opts := []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{Level: zstd.DefaultLevel, Concurrency: 1}),
		parquet.MaxRowsPerRowGroup(4096),
		parquet.CreatedBy("loralab datasets/gen", "1", ""),
	}
	for _, k := range sortedKeys(meta) {
		opts = append(opts, parquet.KeyValueMetadata(k, meta[k]))
	}
	err := atomicfile.WriteWith(path, func(f io.Writer) error {
		w := parquet.NewGenericWriter[Row](f, opts...)
		if _, err := w.Write(rows); err != nil {
			return err
		}
		return w.Close()
	})
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	return nil
}

// ReadParquet reads a whole dataset file (they are small).
func ReadParquet(path string) ([]Row, error) {
	rows, err := parquet.ReadFile[Row](path)
	if err != nil {
		return nil, fmt.Errorf("gen: read %s: %w", path, err)
	}
	return rows, nil
}

// Result is what Generate made for one dataset.
type Result struct {
	Spec  Spec
	Stats map[string]Stats // by split
}

// Generate writes the named datasets (all when names is empty) under outDir:
// <outDir>/<name>/{train,validation}.parquet and <outDir>/<name>/README.md. Each file is
// read back and compared with what was written before the card is written.
func Generate(outDir string, seed uint64, names ...string) ([]Result, error) {
	specs := Specs()
	if len(names) > 0 {
		specs = specs[:0]
		for _, n := range names {
			s, err := SpecByName(n)
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		}
	}
	var results []Result
	for _, spec := range specs {
		dir := filepath.Join(outDir, spec.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
		res := Result{Spec: spec, Stats: map[string]Stats{}}
		seen := map[string]bool{}
		trainKeys := map[string]bool{} // empty while computing train's own stats
		examples := map[string][]Row{}
		for _, split := range Splits {
			rows, err := Build(spec, split, spec.Size(split), seed, seen)
			if err != nil {
				return nil, err
			}
			path := filepath.Join(dir, split+".parquet")
			meta := map[string]string{"loralab.dataset": spec.Name, "loralab.split": split, "loralab.seed": fmt.Sprint(seed), "loralab.generator": "datasets/cmd/gendata"}
			if err := WriteParquet(path, rows, meta); err != nil {
				return nil, err
			}
			back, err := ReadParquet(path)
			if err != nil {
				return nil, err
			}
			if err := sameRows(rows, back); err != nil {
				return nil, fmt.Errorf("gen: %s read back: %w", path, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("gen: %w", err)
			}
			st := ComputeStats(rows, spec.Target, trainKeys)
			if split == Train {
				for _, r := range rows {
					trainKeys[rowKey(r)] = true
				}
			}
			st.Bytes = len(data)
			sum := sha256.Sum256(data)
			st.SHA256 = hex.EncodeToString(sum[:])
			res.Stats[split] = st
			examples[split] = rows
		}
		card := Card(spec, seed, res.Stats, examples[Validation])
		if err := atomicfile.Write(filepath.Join(dir, "README.md"), []byte(card)); err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

// sameRows compares written and read-back rows.
func sameRows(a, b []Row) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d rows written, %d read", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.System != y.System || x.ID != y.ID || x.Lang != y.Lang || len(x.Messages) != len(y.Messages) || strings.Join(x.Kinds, ",") != strings.Join(y.Kinds, ",") {
			return fmt.Errorf("row %d differs", i)
		}
		for j := range x.Messages {
			if x.Messages[j] != y.Messages[j] {
				return fmt.Errorf("row %d message %d differs", i, j)
			}
		}
	}
	return nil
}
