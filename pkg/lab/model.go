package lab

import (
	"fmt"
	"html"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/llama"
	"github.com/loralab/loralab/pkg/lora"
	"github.com/loralab/loralab/pkg/plot"
)

// Model is a base model with an optional adapter, ready to answer (greedy decoding).
type Model struct {
	Base         *Base
	Runner       *llama.Runner
	MaxNewTokens int // default 40

	adapter *lora.Adapter // nil: the base alone
}

// With returns the base model with adapter applied (nil: the base alone).
func (b *Base) With(adapter *lora.Adapter) *Model {
	var a llama.GraphAdapter
	if adapter != nil {
		a = adapter
	}
	return &Model{Base: b, Runner: Must(llama.NewRunner(Backend(), b.Model, a)), MaxNewTokens: 40, adapter: adapter}
}

// Prompt is the token ids the model sees for q after history: the conversation rendered with
// the chat template, ending with the generation prompt (the assistant's turn header).
func (b *Base) Prompt(q string, history ...chat.Message) []int {
	msgs := append(append([]chat.Message(nil), history...), chat.Message{Role: chat.RoleUser, Content: q})
	return Must(b.Encode(chat.Conversation{Messages: msgs}, true))
}

// Reply answers q (after history) greedily, without special tokens such as the end of turn.
func (m *Model) Reply(q string, history ...chat.Message) string {
	return m.generate(q, history, nil)
}

func (m *Model) generate(q string, history []chat.Message, onText func(string)) string {
	tok := m.Base.Tokenizer
	opts := llama.GenerateOptions{MaxNewTokens: m.MaxNewTokens, Decode: tok.Decode}
	if onText != nil {
		opts.OnToken = func(id int, text string) bool {
			if !tok.IsAdded(id) {
				onText(text)
			}
			return true
		}
	}
	g := Must(m.Runner.Generate(m.Base.Prompt(q, history...), opts))
	return m.Base.replyText(g.Tokens)
}

// replyText decodes generated ids without special tokens such as the end of turn.
func (b *Base) replyText(ids []int) string {
	var kept []int
	for _, id := range ids {
		if !b.Tokenizer.IsAdded(id) {
			kept = append(kept, id)
		}
	}
	return strings.TrimSpace(b.Tokenizer.Decode(kept))
}

// Logits are the model's logits over q's prompt, flattened ([tokens × vocabulary]).
func (m *Model) Logits(q string) []float32 {
	ids := m.Base.Prompt(q)
	row := make([]int32, len(ids))
	for i, id := range ids {
		row[i] = int32(id)
	}
	return tensors.MustCopyFlatData[float32](Must(m.Runner.Logits([][]int32{row}, nil, nil)))
}

// Chat holds a multi-turn conversation, one question after the other, each reply streamed
// into the cell as it is generated and kept in the history of the next turn. It returns the
// replies.
func (m *Model) Chat(name string, questions ...string) []string {
	live := plot.NewLive()
	var history []chat.Message
	var transcript strings.Builder
	var replies []string
	line := func(who, text string) string {
		return "<div><b>" + html.EscapeString(who) + ":</b> " + html.EscapeString(text) + "</div>"
	}
	show := func(partial string) {
		live.HTML("<div style='font-family:sans-serif;line-height:1.6'>" + transcript.String() + line(name, partial) + "</div>")
	}
	for _, q := range questions {
		transcript.WriteString(line("User", q))
		partial := ""
		reply := m.generate(q, history, func(text string) { partial += text; show(strings.TrimSpace(partial) + "▌") })
		transcript.WriteString(line(name, reply))
		live.HTML("<div style='font-family:sans-serif;line-height:1.6'>" + transcript.String() + "</div>")
		if !plot.InNotebook() {
			fmt.Printf("User: %s\n%s: %s\n", q, name, reply)
		}
		history = append(history, chat.Message{Role: chat.RoleUser, Content: q}, chat.Message{Role: chat.RoleAssistant, Content: reply})
		replies = append(replies, reply)
	}
	return replies
}
