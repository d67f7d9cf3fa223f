package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
	"github.com/loralab/loralab/pkg/mask"
)

// DataOptions say how conversations become training examples.
type DataOptions struct {
	// Method is the masking method; the zero value is mask.AllAssistantTurns (method 3).
	Method mask.Strategy
	// MaxLength drops samples longer than this many tokens (0: no limit).
	MaxLength int
	// Limit keeps the first Limit conversations (0: all).
	Limit int
}

// Examples are the training examples of one dataset split, as one base model's template and
// tokenizer make them, with the account of what reading and masking left out.
type Examples struct {
	// Name is "dataset/split" (or the file's name).
	Name    string
	Options DataOptions
	// Conversations are the rows kept: valid, within Limit.
	Conversations []chat.Conversation
	Examples      []mask.Example
	// Report counts the rows read and those skipped as invalid (with the reason).
	Report data.Report
	// Dropped counts the samples longer than MaxLength.
	Dropped mask.Dropped
	// Base is the name of the base model whose tokenizer built them.
	Base string
}

// Examples reads a split of one of the repository's datasets (datasets.SFTRecall,
// datasets.SFTIdentity, …; split datasets.Train or datasets.Validation) and builds its
// examples with the base model's template and tokenizer. Invalid rows are skipped and
// counted in Report.
func (b *Base) Examples(dataset, split string, o DataOptions) *Examples {
	path, err := datasets.Path(dataset, split)
	check(err, "dataset %s/%s", dataset, split)
	convs, rep := ReadConversations(path)
	return b.build(dataset+"/"+split, convs, rep, o)
}

// ExamplesFrom builds examples from conversations read elsewhere (ReadConversations).
func (b *Base) ExamplesFrom(name string, convs []chat.Conversation, o DataOptions) *Examples {
	return b.build(name, convs, data.Report{Read: len(convs), Kept: len(convs)}, o)
}

func (b *Base) build(name string, convs []chat.Conversation, rep data.Report, o DataOptions) *Examples {
	if o.Limit > 0 && o.Limit < len(convs) {
		convs = convs[:o.Limit]
	}
	e := &Examples{Name: name, Options: o, Conversations: convs, Report: rep, Base: b.Name}
	opts := mask.Options{MaxLength: o.MaxLength, Truncation: mask.DropSample, Dropped: &e.Dropped}
	exs, err := mask.BuildAll(convs, b.Template, b.Tokenizer, o.Method, opts)
	check(err, "%s", name)
	if len(exs) == 0 {
		Fail(fmt.Errorf("%s: no examples left (%d conversations, %d samples longer than max_length %d)", name, len(convs), e.Dropped.Samples, o.MaxLength))
	}
	e.Examples = exs
	return e
}

// String says what the set holds and what was left out.
func (e *Examples) String() string {
	s := fmt.Sprintf("%s: %d conversations → %d samples (%s), %d tokens, %d supervised", e.Name, len(e.Conversations),
		len(e.Examples), e.Options.Method, e.Tokens(), e.Supervised())
	var out []string
	if n := e.Report.NumSkipped(); n > 0 {
		out = append(out, fmt.Sprintf("%d invalid rows skipped (%s)", n, strings.TrimSpace(e.Report.String())))
	}
	if e.Dropped.Samples > 0 {
		out = append(out, fmt.Sprintf("%d samples longer than max_length %d dropped", e.Dropped.Samples, e.Options.MaxLength))
	}
	if len(out) > 0 {
		s += "; " + strings.Join(out, "; ")
	}
	return s
}

// Tokens is the number of tokens of all samples (what a forward pass runs on, padding aside).
func (e *Examples) Tokens() int {
	n := 0
	for _, x := range e.Examples {
		n += x.Len()
	}
	return n
}

// Supervised is the number of supervised tokens (labels that are not -100).
func (e *Examples) Supervised() int {
	n := 0
	for _, x := range e.Examples {
		n += x.Supervised()
	}
	return n
}

// MaxLen is the length of the longest sample (0 for a nil set).
func (e *Examples) MaxLen() int {
	n := 0
	if e == nil {
		return 0
	}
	for _, x := range e.Examples {
		n = max(n, x.Len())
	}
	return n
}

// key identifies the set for result keys: base, name and options (not the rows themselves:
// the datasets are committed files).
func (e *Examples) key() any {
	if e == nil {
		return nil
	}
	return []any{e.Base, e.Name, e.Options, len(e.Examples), e.Tokens(), e.Supervised()}
}

// ReadConversations reads conversations from a Parquet file (the datasets' format) or a
// JSON/JSONL file (OpenAI, ShareGPT or Alpaca records), skipping invalid rows: the report
// counts them, with the reason.
func ReadConversations(path string) ([]chat.Conversation, data.Report) {
	var (
		convs []chat.Conversation
		rep   data.Report
		err   error
	)
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		convs, rep, err = data.ReadParquet(path, true)
	} else {
		convs, rep, err = data.ImportJSON(path)
	}
	check(err, "reading %s", path)
	return convs, rep
}

// SharedFile returns the path of a reference file in ../shared/data beside the repository
// (FastChat's and LLaMA-Factory's example data), or "" when it is not there.
func SharedFile(name string) string {
	dir, err := datasets.Dir()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(dir), "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
