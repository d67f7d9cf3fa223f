package mask

import (
	"errors"
	"fmt"

	"github.com/loralab/loralab/pkg/chat"
)

// Stats is what a dataset costs and teaches under a strategy.
type Stats struct {
	Conversations int
	// Samples is the number of examples (SplitPerTurn gives one per assistant reply).
	Samples int
	// TokensProcessed counts the real tokens of all samples — what the forward pass runs on,
	// padding excluded. SplitPerTurn's recomputed prefixes show up here.
	TokensProcessed int
	// SupervisedTokens counts labels that are not IgnoreIndex.
	SupervisedTokens int
	// PaddingTokens is the padding added by the layout (0 without one).
	PaddingTokens int
	// Rows is the number of packed rows or padded batches (0 without a layout).
	Rows int
	// Skipped counts conversations with nothing to supervise (ErrNoSupervision) and, under
	// the supervised strategies, those that end with a user message (ErrEndsWithUser).
	Skipped int
	// Dropped is what truncation removed.
	Dropped Dropped
}

// PaddingFraction is PaddingTokens / (TokensProcessed + PaddingTokens).
func (s Stats) PaddingFraction() float64 {
	return PadStats{Tokens: s.TokensProcessed, PaddingTokens: s.PaddingTokens}.PaddingFraction()
}

// Layout says how samples are laid out in memory, for counting padding.
type Layout struct {
	// PackLength > 0 packs samples into rows of this many tokens (Pack).
	PackLength int
	// Otherwise Batch.BatchSize > 0 pads batches to their longest sample (PadBatches).
	Batch BatchOptions
}

// Account builds every conversation of dataset (rendered segments) under strategy and opts,
// lays the samples out as layout says, and counts. Conversations Build refuses as
// unsupervisable (ErrNoSupervision, ErrEndsWithUser) are skipped and counted; any other error
// stops with the conversation's index.
func Account(dataset [][]chat.Segment, tok Encoder, strategy Strategy, opts Options, layout Layout) (Stats, error) {
	st := Stats{Conversations: len(dataset)}
	var dropped Dropped
	opts.Dropped = &dropped
	var all []Example
	for i, segs := range dataset {
		exs, err := Build(segs, tok, strategy, opts)
		if errors.Is(err, ErrNoSupervision) || errors.Is(err, ErrEndsWithUser) {
			st.Skipped++
			continue
		}
		if err != nil {
			return Stats{}, fmt.Errorf("conversation %d: %w", i, err)
		}
		for _, ex := range exs {
			st.Samples++
			st.TokensProcessed += ex.Len()
			st.SupervisedTokens += ex.Supervised()
		}
		if layout.PackLength > 0 || layout.Batch.BatchSize > 0 {
			all = append(all, exs...)
		}
	}
	st.Dropped = dropped
	switch {
	case layout.PackLength > 0:
		_, ps, err := Pack(all, layout.PackLength, layout.Batch.PadID)
		if err != nil {
			return Stats{}, err
		}
		st.PaddingTokens, st.Rows = ps.PaddingTokens, ps.Rows
	case layout.Batch.BatchSize > 0:
		_, ps, err := PadBatches(all, layout.Batch)
		if err != nil {
			return Stats{}, err
		}
		st.PaddingTokens, st.Rows = ps.PaddingTokens, ps.Rows
	}
	return st, nil
}
