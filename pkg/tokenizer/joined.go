package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrJoinUnsupported is returned by EncodeJoined for tokenizers or texts it cannot handle:
// added tokens with lstrip/rstrip, a Unicode normalizer (NFC…) on text it would change, or an
// <unk> in the result (its length in the text is unknown).
var ErrJoinUnsupported = errors.New("tokenizer: joined encoding cannot map these tokens back to the texts")

// EncodeJoined encodes the concatenation of texts as one string — the way Hugging Face
// tokenizes a rendered chat template — except that added tokens are matched only inside the
// texts marked special (template pieces), never inside the others (message content). So the
// ids equal EncodeSpecial(strings.Join(texts, "")) whenever the content holds no special-token
// text, BPE merges across piece boundaries as it would on the whole string ("Assistant: " +
// "Hi" gives " Hi"), and content still never becomes a control token.
//
// For every token, first[i] and last[i] are the indices of the first and last text its bytes
// come from, so callers can map tokens back to pieces. Text a normalizer adds (Llama 2's
// leading "▁") belongs to the text of the character that follows it.
func (t *Tokenizer) EncodeJoined(texts []string, special []bool) (ids, first, last []int, err error) {
	if len(special) != len(texts) {
		return nil, nil, nil, fmt.Errorf("tokenizer: EncodeJoined: %d texts but %d special flags", len(texts), len(special))
	}
	if t.hasStrip {
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
	emit := func(id, start, end int) {
		ids = append(ids, id)
		first = append(first, pieceAt(ends, start))
		last = append(last, pieceAt(ends, end-1))
	}
	var scratch []int
	words := func(start, end int) error { // text without added tokens, across pieces: one section
		if start == end {
			return nil
		}
		s, offs, ok := normalizeOffsets(t.norm, text[start:end], start)
		if !ok {
			return ErrJoinUnsupported
		}
		var split []string
		if t.pre == nil {
			split = []string{s}
		} else {
			split = t.pre.split(s, nil)
		}
		pos := 0
		for _, w := range split {
			if pos+len(w) > len(s) || s[pos:pos+len(w)] != w {
				return ErrJoinUnsupported // a pre-tokenizer that drops or adds text
			}
			wordEnd := pos + len(w)
			scratch = t.appendWord(scratch[:0], w)
			for _, id := range scratch {
				l := t.normLen(id)
				if l <= 0 || pos+l > wordEnd {
					return ErrJoinUnsupported
				}
				emit(id, offs(pos), offs(pos+l-1)+1)
				pos += l
			}
			if pos != wordEnd {
				return ErrJoinUnsupported
			}
		}
		if pos != len(s) {
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

// normalizeOffsets normalizes s (at byte offset base of the whole text) and returns, for every
// byte of the result, the offset of the original byte it comes from. ok is false for a
// normalizer whose changes cannot be traced (a Unicode normalization that changes s).
func normalizeOffsets(n normalizer, s string, base int) (string, func(int) int, bool) {
	if n == nil {
		return s, func(i int) int { return base + i }, true
	}
	offs := make([]int, len(s))
	for i := range offs {
		offs[i] = base + i
	}
	var step func(n normalizer) bool
	step = func(n normalizer) bool {
		switch n := n.(type) {
		case unicodeNorm:
			return n.form.IsNormalString(s)
		case prependNorm:
			if s == "" {
				return true
			}
			head := make([]int, len(n.prefix), len(n.prefix)+len(offs))
			for i := range head {
				head[i] = offs[0] // added text belongs to the character that follows
			}
			s, offs = n.prefix+s, append(head, offs...)
		case replaceNorm:
			var b []byte
			var o []int
			for i := 0; i < len(s); {
				if strings.HasPrefix(s[i:], n.old) {
					b = append(b, n.new...)
					for range len(n.new) {
						o = append(o, offs[i])
					}
					i += len(n.old)
					continue
				}
				b = append(b, s[i])
				o = append(o, offs[i])
				i++
			}
			s, offs = string(b), o
		case sequenceNorm:
			for _, x := range n {
				if !step(x) {
					return false
				}
			}
		default:
			return false
		}
		return true
	}
	if !step(n) {
		return "", nil, false
	}
	return s, func(i int) int { return offs[i] }, true
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

// normLen is the number of bytes of normalized text token id stands for, or -1 for <unk>.
func (t *Tokenizer) normLen(id int) int {
	switch {
	case t.isAdded[id]:
		return len(t.tokens[id])
	case t.bpe.byteLevel:
		return utf8.RuneCountInString(t.tokens[id]) // one rune per byte in the byte-level alphabet
	case id == int(t.bpe.unkID):
		return -1
	}
	if _, ok := byteToken(t.tokens[id]); ok && t.bpe.byteFallback {
		return 1
	}
	return len(t.tokens[id])
}
