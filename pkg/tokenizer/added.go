package tokenizer

import (
	"regexp"
	"slices"
	"strings"
)

// addedSet finds added tokens in text: the longest one starting at a position, as the
// references' added-token splitter does (leftmost, then longest).
type addedSet struct {
	index map[string]int // content -> index into the tokenizer's added tokens
	lens  [256][]int     // by first byte: the distinct content lengths, longest first
	n     int
}

func newAddedSet(added []AddedToken, keep func(AddedToken) bool) *addedSet {
	s := &addedSet{index: make(map[string]int)}
	for i, at := range added {
		if !keep(at) {
			continue
		}
		if _, dup := s.index[at.Content]; dup {
			continue
		}
		s.index[at.Content] = i
		s.n++
		b := at.Content[0]
		if !slices.Contains(s.lens[b], len(at.Content)) {
			s.lens[b] = append(s.lens[b], len(at.Content))
		}
	}
	for b := range s.lens {
		slices.SortFunc(s.lens[b], func(x, y int) int { return y - x })
	}
	return s
}

func (s *addedSet) empty() bool { return s.n == 0 }

// match returns the index of the longest added token text starts with.
func (s *addedSet) match(text string) (int, bool) {
	if text == "" {
		return 0, false
	}
	for _, l := range s.lens[text[0]] {
		if l <= len(text) {
			if i, ok := s.index[text[:l]]; ok {
				return i, true
			}
		}
	}
	return 0, false
}

// jsSpaceRE matches one character of jsWhitespace, the whitespace JavaScript's trim removes
// (the reference strips the neighbours of lstrip/rstrip added tokens with it).
var jsSpaceRE = regexp.MustCompile(`^[` + jsWhitespace + `]$`)

func jsSpace(r rune) bool { return jsSpaceRE.MatchString(string(r)) }

func trimLeftSpace(s string) string  { return strings.TrimLeftFunc(s, jsSpace) }
func trimRightSpace(s string) string { return strings.TrimRightFunc(s, jsSpace) }
