package tokenizer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// jsWhitespace is the set of characters that `\s` matches in a JavaScript (and PCRE/Oniguruma
// Unicode) regular expression. Go's `\s` only matches ASCII [\t\n\f\r ] (not even \v), so every
// `\s` / `\S` in a tokenizer.json pattern is rewritten to this explicit class. The reference
// implementation for our parity tests is @lenml/tokenizers (JS RegExp with the "u" flag).
//
// The two references differ where JavaScript's `\s` and Unicode's White_Space (HF tokenizers'
// Rust regex) differ: U+FEFF is whitespace only in JavaScript, U+0085 only in Rust. Seen with
// tokenizers 0.23.3: text holding U+FEFF gets different ids from the two (3 of the 439 corpus
// strings, 28 of 3,000 random ones, byte-level families only; every other string agreed), and
// " \u0085\u0085 " does for DeepSeek-V3. We follow JavaScript, the project's reference.
const jsWhitespace = `\t\n\x0B\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}`

// lookaheadIdiom is the only lookaround found in the pre-tokenizer patterns of the byte-level
// BPE tokenizers we care about (GPT-2, Llama 3, Qwen, DeepSeek): a whitespace run that must not
// be followed by a non-space, else a plain whitespace run.
//
// Why this matters: Go's regexp (RE2) has no lookahead. go-huggingface's hftokenizer fails to
// compile such a pattern and silently falls back to "whole text is one word", which is why it
// gave two one-space tokens for a trailing "  " where @lenml/tokenizers (and HF tokenizers)
// give one two-space token. We keep RE2 but implement the lookahead by hand: the idiom is
// compiled as a named group `(?P<wsla>[\s]+)` (greedy, so it takes the whole run) and, after
// each match that ended inside this group, we apply what a backtracking engine would do:
//
//	run at end of text       -> keep the whole run ((?!\S) holds at the end)
//	run followed by \S, n>=2 -> give back the last character (then (?!\S) holds)
//	run followed by \S, n==1 -> the first branch fails; the second branch `\s+` matches the
//	                            same single character, so keep it
const lookaheadIdiom = `\s+(?!\S)|\s+`

const lookaheadGroup = "wsla"

// gpt2Pattern is the regex the ByteLevel pre-tokenizer uses when use_regex is true.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// splitRegex is a compiled tokenizer.json Split pattern with the lookahead idiom handled.
type splitRegex struct {
	re *regexp.Regexp
	la int // submatch index of the lookahead group, or -1
}

// compileSplitRegex translates a tokenizer.json regex (Oniguruma / JS syntax) into Go RE2.
func compileSplitRegex(pattern string) (*splitRegex, error) {
	var b strings.Builder
	hasLA := false
	inClass := false
	for i := 0; i < len(pattern); {
		if !inClass && strings.HasPrefix(pattern[i:], lookaheadIdiom) {
			// The idiom must be a whole alternative: at the end of the pattern or before '|' / ')'.
			rest := pattern[i+len(lookaheadIdiom):]
			if rest != "" && rest[0] != '|' && rest[0] != ')' {
				return nil, fmt.Errorf("pattern %q: lookahead idiom at byte %d is not a whole alternative", pattern, i)
			}
			if hasLA {
				return nil, fmt.Errorf("pattern %q: lookahead idiom appears twice", pattern)
			}
			hasLA = true
			b.WriteString(`(?P<` + lookaheadGroup + `>[` + jsWhitespace + `]+)`)
			i += len(lookaheadIdiom)
			continue
		}
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			n := pattern[i+1]
			switch {
			case n == 's' && inClass:
				b.WriteString(jsWhitespace)
			case n == 's':
				b.WriteString(`[` + jsWhitespace + `]`)
			case n == 'S' && inClass:
				return nil, fmt.Errorf("pattern %q: \\S inside a character class is not supported", pattern)
			case n == 'S':
				b.WriteString(`[^` + jsWhitespace + `]`)
			default:
				b.WriteByte(c)
				b.WriteByte(n)
			}
			i += 2
			continue
		case c == '[' && !inClass:
			inClass = true
		case c == ']' && inClass:
			inClass = false
		case c == '(' && !inClass && (strings.HasPrefix(pattern[i:], "(?=") || strings.HasPrefix(pattern[i:], "(?!") ||
			strings.HasPrefix(pattern[i:], "(?<=") || strings.HasPrefix(pattern[i:], "(?<!")):
			return nil, fmt.Errorf("pattern %q: lookaround at byte %d is not supported (only %q is)", pattern, i, lookaheadIdiom)
		}
		b.WriteByte(c)
		i++
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	sr := &splitRegex{re: re, la: -1}
	if hasLA {
		sr.la = re.SubexpIndex(lookaheadGroup)
	}
	return sr, nil
}

// matchWindow is the initial number of bytes a regex search looks at. Go's backtracking
// matcher clears a bit vector proportional to its whole input on every call, so searching the
// rest of a long text for each word is quadratic. We search a window instead and double it
// whenever the result could depend on what lies beyond: no match inside the window, or a match
// that touches the window's end. Every alternative in the supported patterns is a greedy run
// whose mandatory part is at most two characters, so a match that ends strictly inside the
// window is the match on the whole text. (Tests run the DeepSeek-V3 parity with tiny windows.)
var matchWindow = 256

// eachMatch calls fn with the byte span of every non-empty match in text, left to right,
// with the lookahead semantics described at lookaheadIdiom.
func (s *splitRegex) eachMatch(text string, fn func(start, end int)) {
	pos := 0
	w := matchWindow
	for pos < len(text) {
		limit := min(len(text), pos+w)
		for limit < len(text) && !utf8.RuneStart(text[limit]) { // never cut a character
			limit++
		}
		var loc []int
		if s.la >= 0 {
			loc = s.re.FindStringSubmatchIndex(text[pos:limit])
		} else {
			loc = s.re.FindStringIndex(text[pos:limit])
		}
		if limit < len(text) && (loc == nil || pos+loc[1] == limit) {
			w *= 2
			continue
		}
		w = matchWindow
		if loc == nil {
			return
		}
		start, end := pos+loc[0], pos+loc[1]
		if s.la >= 0 && loc[2*s.la] >= 0 && pos+loc[2*s.la+1] == end && end < len(text) {
			run := text[pos+loc[2*s.la] : end]
			if utf8.RuneCountInString(run) >= 2 {
				_, size := utf8.DecodeLastRuneInString(run)
				end -= size
			}
		}
		if end == start { // empty match: step over one character
			_, size := utf8.DecodeRuneInString(text[pos:])
			pos += size
			continue
		}
		fn(start, end)
		pos = end
	}
}

// preTokenizer splits text into words; each word is BPE-encoded on its own.
type preTokenizer interface {
	split(text string, out []string) []string
}

// splitPre is the HF "Split" pre-tokenizer.
type splitPre struct {
	re       *splitRegex
	behavior string // removed, isolated, merged_with_previous, merged_with_next, contiguous
}

func (p *splitPre) split(text string, out []string) []string {
	if text == "" {
		return out
	}
	type seg struct {
		s, e  int
		match bool
	}
	var segs []seg
	cur := 0
	p.re.eachMatch(text, func(s, e int) {
		if s > cur {
			segs = append(segs, seg{cur, s, false})
		}
		segs = append(segs, seg{s, e, true})
		cur = e
	})
	if cur < len(text) {
		segs = append(segs, seg{cur, len(text), false})
	}
	switch p.behavior {
	case "removed":
		for _, g := range segs {
			if !g.match {
				out = append(out, text[g.s:g.e])
			}
		}
	case "merged_with_previous":
		for i := 0; i < len(segs); i++ {
			s, e := segs[i].s, segs[i].e
			if !segs[i].match && i+1 < len(segs) && segs[i+1].match {
				e = segs[i+1].e
				i++
			}
			out = append(out, text[s:e])
		}
	case "merged_with_next":
		for i := 0; i < len(segs); i++ {
			s, e := segs[i].s, segs[i].e
			if segs[i].match && i+1 < len(segs) && !segs[i+1].match {
				e = segs[i+1].e
				i++
			}
			out = append(out, text[s:e])
		}
	case "contiguous":
		for i := 0; i < len(segs); i++ {
			s, e := segs[i].s, segs[i].e
			for segs[i].match && i+1 < len(segs) && segs[i+1].match {
				e = segs[i+1].e
				i++
			}
			out = append(out, text[s:e])
		}
	default: // isolated
		for _, g := range segs {
			out = append(out, text[g.s:g.e])
		}
	}
	return out
}

// byteLevelPre is the HF "ByteLevel" pre-tokenizer. The byte-to-unicode mapping itself is
// applied by the BPE model (words stay raw UTF-8 here).
type byteLevelPre struct {
	addPrefixSpace bool
	re             *splitRegex // nil when use_regex is false
}

func (p *byteLevelPre) split(text string, out []string) []string {
	if text == "" {
		return out
	}
	if p.addPrefixSpace && text[0] != ' ' {
		text = " " + text
	}
	if p.re == nil {
		return append(out, text)
	}
	cur := 0
	p.re.eachMatch(text, func(s, e int) {
		if s > cur { // text the pattern did not cover is kept as its own word
			out = append(out, text[cur:s])
		}
		out = append(out, text[s:e])
		cur = e
	})
	if cur < len(text) {
		out = append(out, text[cur:])
	}
	return out
}

// sequencePre applies pre-tokenizers one after the other on every word.
type sequencePre []preTokenizer

func (p sequencePre) split(text string, out []string) []string {
	words := []string{text}
	var next []string
	for _, pt := range p {
		next = next[:0]
		for _, w := range words {
			next = pt.split(w, next)
		}
		words, next = next, words
	}
	return append(out, words...)
}

// preTokenizerJSON is the union of pre_tokenizer fields we read from tokenizer.json.
type preTokenizerJSON struct {
	Type           string             `json:"type"`
	AddPrefixSpace bool               `json:"add_prefix_space"`
	UseRegex       *bool              `json:"use_regex"`
	Pattern        *patternJSON       `json:"pattern"`
	Behavior       string             `json:"behavior"`
	Invert         bool               `json:"invert"`
	PreTokenizers  []preTokenizerJSON `json:"pretokenizers"`
	IndividualDigs bool               `json:"individual_digits"`
}

type patternJSON struct {
	Regex  *string `json:"Regex,omitempty"`
	String *string `json:"String,omitempty"`
}

// buildPreTokenizer compiles a pre_tokenizer JSON value. It returns whether a ByteLevel
// step is present (required by the native engine).
func buildPreTokenizer(raw json.RawMessage) (preTokenizer, bool, error) {
	var pj preTokenizerJSON
	if err := json.Unmarshal(raw, &pj); err != nil {
		return nil, false, fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
	}
	return buildPre(pj, "tokenizer.json: pre_tokenizer")
}

func buildPre(pj preTokenizerJSON, where string) (preTokenizer, bool, error) {
	switch pj.Type {
	case "Sequence":
		var seq sequencePre
		byteLevel := false
		for i, c := range pj.PreTokenizers {
			p, bl, err := buildPre(c, fmt.Sprintf("%s.pretokenizers[%d]", where, i))
			if err != nil {
				return nil, false, err
			}
			byteLevel = byteLevel || bl
			seq = append(seq, p)
		}
		return seq, byteLevel, nil
	case "Split":
		if pj.Pattern == nil {
			return nil, false, fmt.Errorf("%s: Split without pattern", where)
		}
		var pat string
		switch {
		case pj.Pattern.Regex != nil:
			pat = *pj.Pattern.Regex
		case pj.Pattern.String != nil:
			pat = regexp.QuoteMeta(*pj.Pattern.String)
		default:
			return nil, false, fmt.Errorf("%s: Split pattern has neither Regex nor String", where)
		}
		re, err := compileSplitRegex(pat)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", where, err)
		}
		if pj.Invert {
			return nil, false, fmt.Errorf("%s: Split with invert: true is not supported", where)
		}
		behavior := strings.ToLower(pj.Behavior)
		switch behavior {
		case "mergedwithprevious":
			behavior = "merged_with_previous"
		case "mergedwithnext":
			behavior = "merged_with_next"
		case "isolated", "removed", "contiguous":
		default:
			return nil, false, fmt.Errorf("%s: Split behavior %q is not supported", where, pj.Behavior)
		}
		return &splitPre{re: re, behavior: behavior}, false, nil
	case "Digits":
		pat := `[^\d]+|\d+`
		if pj.IndividualDigs {
			pat = `[^\d]+|\d`
		}
		re, err := compileSplitRegex(pat)
		if err != nil {
			return nil, false, err
		}
		return &splitPre{re: re, behavior: "isolated"}, false, nil
	case "ByteLevel":
		p := &byteLevelPre{addPrefixSpace: pj.AddPrefixSpace}
		if pj.UseRegex == nil || *pj.UseRegex {
			re, err := compileSplitRegex(gpt2Pattern)
			if err != nil {
				return nil, false, err
			}
			p.re = re
		}
		return p, true, nil
	default:
		return nil, false, fmt.Errorf("%s: pre-tokenizer type %q is not supported (supported: Sequence, Split, Digits, ByteLevel)", where, pj.Type)
	}
}
