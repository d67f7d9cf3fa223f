package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// decodeStep is one step of tokenizer.json's decoder: it rewrites the list of token strings.
// Strings may hold raw bytes that are not valid UTF-8 on their own (a character split over
// several byte tokens): Decode of the concatenation of ids equals the concatenation of
// Decodes, so generation can print token by token.
type decodeStep interface {
	apply(toks []decTok) []decTok
}

// decTok is a token on its way through the decoder; added tokens are kept out of the
// byte-level mapping, as in the references.
type decTok struct {
	s     string
	added bool
}

// byteLevelDec maps the byte-level alphabet back to bytes; added tokens stay as they are.
type byteLevelDec struct{}

func (byteLevelDec) apply(toks []decTok) []decTok {
	for i, tok := range toks {
		if tok.added {
			continue
		}
		b := make([]byte, 0, len(tok.s))
		for _, r := range tok.s {
			if c, ok := runeToByte[r]; ok {
				b = append(b, c)
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
		toks[i].s = string(b)
	}
	return toks
}

// replaceDec is the "Replace" decoder with a String pattern.
type replaceDec struct{ old, new string }

func (d replaceDec) apply(toks []decTok) []decTok {
	for i := range toks {
		toks[i].s = strings.ReplaceAll(toks[i].s, d.old, d.new)
	}
	return toks
}

// byteFallbackDec turns runs of "<0xXX>" tokens into the bytes they stand for.
type byteFallbackDec struct{}

func (byteFallbackDec) apply(toks []decTok) []decTok {
	out := toks[:0]
	var run []byte
	for _, t := range toks {
		if b, ok := byteToken(t.s); ok {
			run = append(run, b)
			continue
		}
		if len(run) > 0 {
			out = append(out, decTok{s: string(run)})
			run = run[:0]
		}
		out = append(out, t)
	}
	if len(run) > 0 {
		out = append(out, decTok{s: string(run)})
	}
	return out
}

// byteToken parses "<0xXX>" (upper- or lower-case hex).
func byteToken(t string) (byte, bool) {
	if len(t) != 6 || t[:3] != "<0x" || t[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(t[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// fuseDec joins every token into one.
type fuseDec struct{}

func (fuseDec) apply(toks []decTok) []decTok {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.s)
	}
	return []decTok{{s: b.String()}}
}

// stripDec removes up to start leading and stop trailing copies of content from each token.
type stripDec struct {
	content     string
	start, stop int
}

func (d stripDec) apply(toks []decTok) []decTok {
	for i := range toks {
		t := toks[i].s
		for k := 0; k < d.start && strings.HasPrefix(t, d.content); k++ {
			t = t[len(d.content):]
		}
		for k := 0; k < d.stop && strings.HasSuffix(t, d.content); k++ {
			t = t[:len(t)-len(d.content)]
		}
		toks[i].s = t
	}
	return toks
}

type decoderJSON struct {
	Type     string            `json:"type"`
	Decoders []json.RawMessage `json:"decoders"`
	Pattern  *patternJSON      `json:"pattern"`
	Content  *string           `json:"content"`
	Start    int               `json:"start"`
	Stop     int               `json:"stop"`
}

// buildDecoder compiles tokenizer.json's decoder. A null decoder joins tokens with spaces,
// as the references do.
func buildDecoder(raw json.RawMessage, where string) ([]decodeStep, error) {
	if isNull(raw) {
		return nil, nil
	}
	var dj decoderJSON
	if err := json.Unmarshal(raw, &dj); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	switch dj.Type {
	case "Sequence":
		var steps []decodeStep
		for i, c := range dj.Decoders {
			s, err := buildDecoder(c, fmt.Sprintf("%s.decoders[%d]", where, i))
			if err != nil {
				return nil, err
			}
			if s == nil {
				return nil, fmt.Errorf("%s.decoders[%d]: null decoder inside a Sequence", where, i)
			}
			steps = append(steps, s...)
		}
		return steps, nil
	case "ByteLevel":
		return []decodeStep{byteLevelDec{}}, nil
	case "Replace":
		old, err := stringPattern(dj.Pattern, where, "Replace")
		if err != nil {
			return nil, err
		}
		if dj.Content == nil {
			return nil, fmt.Errorf("%s: Replace without \"content\"", where)
		}
		return []decodeStep{replaceDec{old, *dj.Content}}, nil
	case "ByteFallback":
		return []decodeStep{byteFallbackDec{}}, nil
	case "Fuse":
		return []decodeStep{fuseDec{}}, nil
	case "Strip":
		if dj.Content == nil || utf8.RuneCountInString(*dj.Content) != 1 || dj.Start < 0 || dj.Stop < 0 {
			return nil, fmt.Errorf("%s: Strip needs one character as content and non-negative start and stop", where)
		}
		return []decodeStep{stripDec{*dj.Content, dj.Start, dj.Stop}}, nil
	default:
		return nil, fmt.Errorf("%s: decoder type %q is not supported (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip)", where, dj.Type)
	}
}

// Decode turns ids back into text through the tokenizer's decoder. Added tokens decode to
// their content; ids outside the vocabulary are skipped. Decode(Encode(s)) == s for every
// valid UTF-8 s, except where the tokenizer itself loses text (an <unk>, or normalization
// such as NFC that changes s).
func (t *Tokenizer) Decode(ids []int) string {
	toks := make([]decTok, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) || t.tokens[id] == "" {
			continue
		}
		toks = append(toks, decTok{s: t.tokens[id], added: t.isAdded[id]})
	}
	var b strings.Builder
	if t.decoder == nil { // no decoder: tokens joined with spaces, as the references do
		for i, tok := range toks {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(tok.s)
		}
		return b.String()
	}
	for _, s := range t.decoder {
		toks = s.apply(toks)
	}
	for _, tok := range toks {
		b.WriteString(tok.s)
	}
	return b.String()
}
