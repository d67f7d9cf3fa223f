package mask

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// BenchmarkPipeline: render → tokenize → mask (method 3) for 10,000 dialogues: FastChat's 500
// conversations cycled 20 times, each message suffixed with its copy number so the tokenizer's
// word cache does not see identical text. One op = the 10,000 dialogues. DeepSeek-V3's
// tokenizer when npm provides it, else the committed tiny BPE tokenizer.
func BenchmarkPipeline(b *testing.B) {
	base := fastChat(b)
	var tok Encoder
	name := "deepseek3"
	if ds, _ := deepseekTokenizer(b); ds != nil {
		tok = ds
	} else {
		tiny, err := tokenizer.Load(filepath.Join(repoRoot(b), "pkg", "tokenizer", "testdata", "tiny_bpe"))
		if err != nil {
			b.Fatal(err)
		}
		tok, name = tiny, "tiny"
	}
	tmpl, err := chat.Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	convs := make([]chat.Conversation, n)
	for i := range convs {
		c := base[i%len(base)]
		msgs := make([]chat.Message, len(c.Messages))
		for j, m := range c.Messages {
			msgs[j] = chat.Message{Role: m.Role, Content: fmt.Sprintf("%s #%d", m.Content, i/len(base))}
		}
		convs[i] = chat.Conversation{System: c.System, Messages: msgs}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapAlloc
	var peak uint64
	b.ReportAllocs()
	b.ResetTimer()
	tokens := 0
	for range b.N {
		tokens = 0
		kept := make([]Example, 0, n) // what a data loader would hold
		for i, c := range convs {
			segs, err := tmpl.Render(c, false)
			if err != nil {
				b.Fatal(err)
			}
			exs, err := Build(segs, tok, AllAssistantTurns, Options{MaxLength: 2048})
			if err != nil {
				b.Fatal(err)
			}
			for _, ex := range exs {
				tokens += ex.Len()
			}
			kept = append(kept, exs...)
			if i%1000 == 999 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		_ = kept
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(n)*float64(b.N)/sec, "conversations/s")
	b.ReportMetric(float64(tokens)*float64(b.N)/sec, "tokens/s")
	b.ReportMetric(float64(peak-min(peak, baseHeap))/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(tokens), "tokens/op")
}
