package tokenizer

import (
	"container/heap"
	"sync"
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

// byteLevelString maps raw bytes to their byte-level (GPT-2 alphabet) representation.
func byteLevelString(s string) string {
	out := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = byteToRune[s[i]]
	}
	return string(out)
}

type mergeVal struct {
	rank int32
	id   int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeModel merges the bytes of one word into vocabulary ids by merge rank: at each step the
// adjacent pair with the lowest rank is merged, leftmost first on ties — the order HF
// tokenizers (Rust) and transformers.js use.
type bpeModel struct {
	byteID [256]int32
	merges map[uint64]mergeVal

	mu    sync.Mutex
	cache map[string][]int32
}

const (
	cacheMaxWordLen = 64
	cacheMaxEntries = 1 << 17
	scanMaxSymbols  = 48 // words up to this many bytes use the simple quadratic scan
)

// encodeWord appends the ids of word to out.
func (m *bpeModel) encodeWord(word string, out []int) []int {
	if len(word) == 0 {
		return out
	}
	if len(word) == 1 {
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
	syms := make([]int32, len(word))
	for i := 0; i < len(word); i++ {
		syms[i] = m.byteID[word[i]]
	}
	if len(syms) <= scanMaxSymbols {
		syms = m.mergeScan(syms)
	} else {
		syms = m.mergeHeap(syms)
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
