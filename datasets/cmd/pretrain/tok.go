package main

import (
	"fmt"
	"slices"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/tokenizer"
)

type tokenizerT = tokenizer.Tokenizer

// trainTokenizer learns the byte-level BPE vocabulary on the corpus's message texts, with the
// `tiny` template's special tokens, and saves tokenizer.json + tokenizer_config.json.
func trainTokenizer(o options, tmpl chat.Template, convs []chat.Conversation) (*tokenizer.Tokenizer, error) {
	var texts []string
	for _, c := range convs {
		if c.System != "" {
			texts = append(texts, c.System)
		}
		for _, m := range c.Messages {
			texts = append(texts, m.Content)
		}
	}
	tok, err := tokenizer.Train(slices.Values(texts), tokenizer.TrainOptions{
		VocabSize:      o.vocab,
		SpecialTokens:  tmpl.SpecialTokens,
		BOSToken:       tmpl.BOS,
		EOSToken:       tmpl.EOS,
		PadToken:       tmpl.Pad,
		ChatTemplate:   tmpl.ChatTemplate,
		ModelMaxLength: 1024,
	})
	if err != nil {
		return nil, fmt.Errorf("training the tokenizer: %w", err)
	}
	if err := tok.Save(o.out); err != nil {
		return nil, err
	}
	fmt.Printf("tokenizer: %d ids (BOS %d, EOS %d, pad %d)\n", tok.VocabSize(), tok.BOSID(), tok.EOSID(), tok.PadID())
	return tok, nil
}
