package tokenizer

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrJoinUnsupported is returned by EncodeJoined for tokenizers it cannot handle: not
// byte-level, a normalizer other than NFC (or NFC on text that is not NFC), or added tokens
// with lstrip/rstrip.
var ErrJoinUnsupported = errors.New("tokenizer: joined encoding needs a byte-level tokenizer without text-changing normalization")

// EncodeJoined encodes the concatenation of texts as one string — the way Hugging Face
// tokenizes a rendered chat template — except that added tokens are matched only inside the
// texts marked special (template pieces), never inside the others (message content). So the
// ids equal EncodeSpecial(strings.Join(texts, "")) whenever the content holds no special-token
// text, BPE merges across piece boundaries as it would on the whole string ("Assistant: " +
// "Hi" gives " Hi"), and content still never becomes a control token.
//
// For every token, first[i] and last[i] are the indices of the first and last text its bytes
// come from, so callers can map tokens back to pieces.
func (t *Tokenizer) EncodeJoined(texts []string, special []bool) (ids, first, last []int, err error) {
	if len(special) != len(texts) {
		return nil, nil, nil, fmt.Errorf("tokenizer: EncodeJoined: %d texts but %d special flags", len(texts), len(special))
	}
	nfcOnly := false
	switch n := t.norm.(type) {
	case nil:
	case unicodeNorm:
		nfcOnly = n.form == norm.NFC
	}
	if !t.bpe.byteLevel || t.hasStrip || (t.norm != nil && !nfcOnly) {
		return nil, nil, nil, ErrJoinUnsupported
	}
	var total int
	for _, s := range texts {
		total += len(s)
	}
	// ends[k] = byte offset where text k ends in the joined string.
	ends := make([]int, len(texts))
	joined := make([]byte, 0, total)
	for k, s := range texts {
		joined = append(joined, s...)
		ends[k] = len(joined)
	}
	text := string(joined)
	if nfcOnly && !norm.NFC.IsNormalString(text) {
		return nil, nil, nil, ErrJoinUnsupported
	}
	emit := func(id, start, end int) {
		ids = append(ids, id)
		first = append(first, pieceAt(ends, start))
		last = append(last, pieceAt(ends, end-1))
	}
	var scratch []int
	words := func(start, end int) error { // text without added tokens, across pieces
		off := start
		for _, w := range t.pre.split(text[start:end], nil) {
			if off+len(w) > end || text[off:off+len(w)] != w {
				return ErrJoinUnsupported // a pre-tokenizer that drops or adds text
			}
			wordEnd := off + len(w)
			scratch = t.appendWord(scratch[:0], w)
			for _, id := range scratch {
				l := t.byteLen(id)
				emit(id, off, off+l)
				off += l
			}
			if off != wordEnd {
				return ErrJoinUnsupported
			}
		}
		if off != end {
			return ErrJoinUnsupported
		}
		return nil
	}
	plain := func(start, end int) error { // as words, but added tokens that are text match
		from := start
		for i := start; i < end; {
			ai, ok := t.textAdded.match(text[i:end])
			if !ok {
				i++
				continue
			}
			if err := words(from, i); err != nil {
				return err
			}
			at := t.added[ai]
			emit(at.ID, i, i+len(at.Content))
			i += len(at.Content)
			from = i
		}
		return words(from, end)
	}
	pending := 0 // start of text not yet encoded
	start := 0
	for k, s := range texts {
		if special[k] {
			for i := 0; i < len(s); {
				ai, ok := t.allAdded.match(s[i:])
				if !ok {
					i++
					continue
				}
				at := t.added[ai]
				if err := plain(pending, start+i); err != nil {
					return nil, nil, nil, err
				}
				emit(at.ID, start+i, start+i+len(at.Content))
				i += len(at.Content)
				pending = start + i
			}
		}
		start += len(s)
	}
	if err := plain(pending, len(text)); err != nil {
		return nil, nil, nil, err
	}
	return ids, first, last, nil
}

// pieceAt returns the index of the text holding byte off: the first k with ends[k] > off.
func pieceAt(ends []int, off int) int {
	lo, hi := 0, len(ends)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if ends[mid] > off {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// byteLen is the number of text bytes token id stands for.
func (t *Tokenizer) byteLen(id int) int {
	if t.isAdded[id] {
		return len(t.tokens[id])
	}
	return utf8.RuneCountInString(t.tokens[id]) // one rune per byte in the byte-level alphabet
}
