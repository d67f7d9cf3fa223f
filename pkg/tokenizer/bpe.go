package tokenizer

import (
	"container/heap"
	"sync"
	"unicode/utf8"
)

// byteToRune is GPT-2's byte-level alphabet: printable bytes map to themselves, the others to
// U+0100 and up, so every byte sequence becomes a printable string (space is 'Ġ', U+0120).
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// byteLevelBytes maps a byte-level string back to raw bytes; ok is false when a character
// is outside the byte-level alphabet.
func byteLevelBytes(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c, ok := runeToByte[r]
		if !ok {
			return "", false
		}
		b = append(b, c)
	}
	return string(b), true
}

type mergeVal struct {
	rank int32
	id   int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeModel merges the symbols of one word into vocabulary ids by merge rank: at each step the
// adjacent pair with the lowest rank is merged, leftmost first on ties — the order HF
// tokenizers (Rust) and transformers.js use.
//
// Two alphabets. Byte-level models (GPT-2, Llama 3, Qwen, DeepSeek) start from the word's
// bytes, each mapped to its byte-level symbol. SentencePiece-style models (Llama 2, Gemma)
// start from the word's characters; a character that is not a token is kept as a negative
// placeholder that never merges and is written as its UTF-8 bytes "<0xE8>"… at the end
// (byte_fallback), or as the unknown token.
type bpeModel struct {
	byteLevel bool
	byteID    [256]int32 // byte-level: the id of each byte's symbol

	charID       map[rune]int32 // SentencePiece-style: single-character tokens
	byteFallback bool
	fallbackID   [256]int32 // "<0x00>"…"<0xFF>", -1 when absent
	unkID        int32      // -1 when none

	ignoreMerges bool
	whole        map[string]int32 // ignore_merges: word (raw bytes) -> id of the token it is

	merges map[uint64]mergeVal

	mu    sync.Mutex
	cache map[string][]int32
}

const (
	cacheMaxWordLen = 64
	cacheMaxEntries = 1 << 17
	scanMaxSymbols  = 48 // words up to this many symbols use the simple quadratic scan
)

// Placeholders for symbols that are not tokens (SentencePiece-style models): -1-r for a
// character r, -1-(rawByteBase+b) for a byte b that is not valid UTF-8.
const rawByteBase = 0x110000

// encodeWord appends the ids of word to out.
func (m *bpeModel) encodeWord(word string, out []int) []int {
	if len(word) == 0 {
		return out
	}
	if m.ignoreMerges {
		if id, ok := m.whole[word]; ok {
			return append(out, int(id))
		}
	}
	if m.byteLevel && len(word) == 1 {
		return append(out, int(m.byteID[word[0]]))
	}
	if len(word) <= cacheMaxWordLen {
		m.mu.Lock()
		ids, ok := m.cache[word]
		m.mu.Unlock()
		if ok {
			for _, id := range ids {
				out = append(out, int(id))
			}
			return out
		}
	}
	syms := m.symbols(word)
	if len(syms) <= scanMaxSymbols {
		syms = m.mergeScan(syms)
	} else {
		syms = m.mergeHeap(syms)
	}
	if !m.byteLevel {
		syms = m.resolve(syms)
	}
	if len(word) <= cacheMaxWordLen {
		m.mu.Lock()
		if len(m.cache) >= cacheMaxEntries {
			clear(m.cache)
		}
		m.cache[word] = syms
		m.mu.Unlock()
	}
	for _, id := range syms {
		out = append(out, int(id))
	}
	return out
}

// symbols is the word before any merge: bytes (byte-level) or characters.
func (m *bpeModel) symbols(word string) []int32 {
	if m.byteLevel {
		syms := make([]int32, len(word))
		for i := 0; i < len(word); i++ {
			syms[i] = m.byteID[word[i]]
		}
		return syms
	}
	syms := make([]int32, 0, len(word))
	for i := 0; i < len(word); {
		r, size := utf8.DecodeRuneInString(word[i:])
		switch id, ok := m.charID[r]; {
		case r == utf8.RuneError && size == 1:
			syms = append(syms, -1-(rawByteBase+int32(word[i])))
		case ok:
			syms = append(syms, id)
		default:
			syms = append(syms, -1-int32(r))
		}
		i += size
	}
	return syms
}

// resolve replaces the placeholders left after merging by byte-fallback tokens or <unk>.
func (m *bpeModel) resolve(syms []int32) []int32 {
	clean := true
	for _, s := range syms {
		clean = clean && s >= 0
	}
	if clean {
		return syms
	}
	out := make([]int32, 0, len(syms)+8)
	var buf [utf8.UTFMax]byte
	for _, s := range syms {
		if s >= 0 {
			out = append(out, s)
			continue
		}
		v := -1 - s
		var bs []byte
		if v >= rawByteBase {
			bs = []byte{byte(v - rawByteBase)}
		} else {
			bs = buf[:utf8.EncodeRune(buf[:], rune(v))]
		}
		ok := m.byteFallback
		for _, b := range bs {
			ok = ok && m.fallbackID[b] >= 0
		}
		if !ok {
			out = append(out, m.unkID)
			continue
		}
		for _, b := range bs {
			out = append(out, m.fallbackID[b])
		}
	}
	return out
}

// spell encodes word without merges (one symbol per byte or character), for the rare word
// whose merges would produce a control token.
func (m *bpeModel) spell(word string, isControl func(int) bool) []int32 {
	syms := m.symbols(word)
	if m.byteLevel {
		return syms
	}
	for i, s := range syms {
		if s >= 0 && isControl(int(s)) {
			r, _ := utf8.DecodeRuneInString(word[runeOffset(word, i):])
			syms[i] = -1 - int32(r)
		}
	}
	return m.resolve(syms)
}

// runeOffset is the byte offset of the i-th character of s.
func runeOffset(s string, i int) int {
	off := 0
	for ; i > 0; i-- {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// mergeScan is the O(n²) reference algorithm, fastest for short words.
func (m *bpeModel) mergeScan(syms []int32) []int32 {
	for len(syms) > 1 {
		best, bestRank, bestID := -1, int32(0), int32(0)
		for i := 0; i+1 < len(syms); i++ {
			if mv, ok := m.merges[pairKey(syms[i], syms[i+1])]; ok && (best < 0 || mv.rank < bestRank) {
				best, bestRank, bestID = i, mv.rank, mv.id
			}
		}
		if best < 0 {
			break
		}
		syms[best] = bestID
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	return syms
}

type mergeCand struct {
	rank        int32
	pos         int32
	left, right int32 // ids at the time of pushing, to detect stale entries
}

type candHeap []mergeCand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(mergeCand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeHeap gives the same result as mergeScan in O(n log n) using a linked list of symbols
// and a priority queue of candidate merges ordered by (rank, position).
func (m *bpeModel) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	next := make([]int32, n)
	prev := make([]int32, n)
	alive := make([]bool, n)
	for i := range syms {
		next[i], prev[i], alive[i] = int32(i+1), int32(i-1), true
	}
	next[n-1] = -1
	h := make(candHeap, 0, n)
	push := func(i int32) {
		j := next[i]
		if i < 0 || j < 0 {
			return
		}
		if mv, ok := m.merges[pairKey(syms[i], syms[j])]; ok {
			heap.Push(&h, mergeCand{rank: mv.rank, pos: i, left: syms[i], right: syms[j]})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(int32(i))
	}
	for h.Len() > 0 {
		c := heap.Pop(&h).(mergeCand)
		i := c.pos
		j := next[i]
		if !alive[i] || j < 0 || syms[i] != c.left || syms[j] != c.right {
			continue // stale
		}
		syms[i] = m.merges[pairKey(c.left, c.right)].id
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}
