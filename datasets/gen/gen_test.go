package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
)

// The random stream is part of the datasets' definition: these values must never change.
func TestRandGolden(t *testing.T) {
	r := NewRand(1, "x", 0)
	got := []uint64{r.Uint64(), r.Uint64(), r.Uint64()}
	want := goldenRand
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("NewRand(1, \"x\", 0) gave %#x, want %#x", got, want)
		}
	}
	if a, b := NewRand(1, "x", 0).Uint64(), NewRand(1, "x", 1).Uint64(); a == b {
		t.Errorf("streams 0 and 1 agree: %#x", a)
	}
	if a, b := NewRand(1, "x", 0).Uint64(), NewRand(1, "y", 0).Uint64(); a == b {
		t.Errorf("streams x and y agree: %#x", a)
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		n      int
		zh, en string
	}{
		{0, "零", "zero"}, {2, "二", "two"}, {10, "十", "ten"}, {11, "十一", "eleven"}, {19, "十九", "nineteen"},
		{20, "二十", "twenty"}, {23, "二十三", "twenty-three"}, {90, "九十", "ninety"}, {99, "九十九", "ninety-nine"}, {-5, "负五", "minus five"},
	}
	for _, tc := range tests {
		if got := zhNumber(tc.n); got != tc.zh {
			t.Errorf("zhNumber(%d) = %q, want %q", tc.n, got, tc.zh)
		}
		if got := enNumber(tc.n); got != tc.en {
			t.Errorf("enNumber(%d) = %q, want %q", tc.n, got, tc.en)
		}
	}
}

func TestSeasonsAndClock(t *testing.T) {
	tests := []struct {
		month  int
		season string
	}{{0, "winter"}, {1, "winter"}, {2, "spring"}, {4, "spring"}, {5, "summer"}, {7, "summer"}, {8, "autumn"}, {10, "autumn"}, {11, "winter"}}
	for _, tc := range tests {
		if got := seasonOf(tc.month).EN; got != tc.season {
			t.Errorf("seasonOf(%s) = %s, want %s", Months[tc.month].EN, got, tc.season)
		}
	}
}

// build makes n rows of each split of a spec.
func build(t *testing.T, name string, n int) []Row {
	t.Helper()
	spec, err := SpecByName(name)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var all []Row
	for _, split := range Splits {
		rows, err := Build(spec, split, n, DefaultSeed, seen)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
	}
	return all
}

func assistantReplies(r Row) []string {
	var out []string
	for i, m := range r.Messages {
		if i%2 == 1 {
			out = append(out, m.Content)
		}
	}
	return out
}

func TestRecallInvariants(t *testing.T) {
	rows := build(t, "sft_recall", 400)
	byTurns := map[int]int{}
	for _, r := range rows {
		n := len(r.Kinds)
		byTurns[n]++
		if n > 1 && !strings.HasPrefix(r.Kinds[n-1], "recall.") {
			t.Errorf("%s: last reply is %q, want a recall", r.ID, r.Kinds[n-1])
		}
		if n == 1 && !strings.HasPrefix(r.Kinds[0], "recall.") {
			t.Errorf("%s: one-turn dialogue of kind %q, want a recall", r.ID, r.Kinds[0])
		}
		// After a move, a question about the city must be answered with the new city.
		replies := assistantReplies(r)
		moved := ""
		for i, k := range r.Kinds {
			if k == "update.city" {
				for _, c := range Cities {
					if strings.Contains(r.Messages[2*i].Content, c.Name.In(langOf(r))) {
						moved = c.Name.In(langOf(r))
					}
				}
			}
			if moved != "" && strings.HasPrefix(k, "recall.city") && !strings.Contains(replies[i], moved) {
				t.Errorf("%s turn %d: %q does not use the new city %s", r.ID, i+1, replies[i], moved)
			}
		}
	}
	for n := 1; n <= 4; n++ {
		if byTurns[n] != 200 {
			t.Errorf("%d dialogues with %d exchanges, want 200", byTurns[n], n)
		}
	}
}

func langOf(r Row) Lang {
	if r.Lang == "zh" {
		return ZH
	}
	return EN
}

func TestIdentityInvariants(t *testing.T) {
	for _, r := range build(t, "sft_identity", 400) {
		hasIdentity := false
		for i, a := range assistantReplies(r) {
			sig := SignatureEN
			if r.Lang == "zh" {
				sig = SignatureZH
			}
			if !strings.HasSuffix(a, sig) {
				t.Errorf("%s reply %d: %q lacks the signature", r.ID, i+1, a)
			}
			if strings.HasPrefix(r.Kinds[i], "identity.") {
				hasIdentity = true
				if r.Kinds[i] == "identity.maker" && !strings.Contains(a, PersonaMaker) {
					t.Errorf("%s reply %d: %q does not name %s", r.ID, i+1, a, PersonaMaker)
				}
			}
		}
		if !hasIdentity {
			t.Errorf("%s: no identity question", r.ID)
		}
	}
}

// The base corpus must not already teach what the fine-tuning sets teach: it never names the
// persona's maker, and its assistant never calls itself by the persona's name (other names
// come only from a system prompt) — the name (one user name among many, so
// that its characters are covered) is in a reply only when the user gave it in the same
// exchange.
func TestPretrainLeavesSkillsToFineTuning(t *testing.T) {
	named := 0
	for _, r := range build(t, "pretrain", 3000) {
		for i := 0; i+1 < len(r.Messages); i += 2 {
			u, a := r.Messages[i].Content, r.Messages[i+1].Content
			if strings.Contains(u+a+r.System, PersonaMaker) {
				t.Fatalf("%s names the persona's maker: %q / %q", r.ID, u, a)
			}
			if strings.Contains(r.System, PersonaZH) || strings.Contains(r.System, PersonaEN) {
				t.Fatalf("%s: the system prompt gives the persona's name: %q", r.ID, r.System)
			}
			for _, name := range []string{PersonaZH, PersonaEN} {
				if strings.Contains(a, name) && !strings.Contains(u, name) {
					t.Fatalf("%s: the assistant says %q unprompted: %q / %q", r.ID, name, u, a)
				}
				if strings.Contains(u, name) {
					named++
				}
			}
		}
		for _, k := range r.Kinds {
			if strings.HasPrefix(k, "recall.") {
				t.Fatalf("%s has a recall reply", r.ID)
			}
		}
		if len(r.Kinds) > 6 {
			t.Fatalf("%s has %d exchanges, want at most 6", r.ID, len(r.Kinds))
		}
	}
	if named == 0 {
		t.Errorf("no user of 3000 dialogues is called %s / %s: the persona's characters are not covered", PersonaZH, PersonaEN)
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name string
		d    dialog
	}{
		{"empty", dialog{}},
		{"odd", dialog{msgs: []chat.Message{{Role: "user", Content: "a"}}, kinds: []string{"x"}}},
		{"roles", dialog{msgs: []chat.Message{{Role: "assistant", Content: "a"}, {Role: "user", Content: "b"}}, kinds: []string{"x"}}},
		{"placeholder", dialog{msgs: []chat.Message{{Role: "user", Content: "{c}?"}, {Role: "assistant", Content: "b"}}, kinds: []string{"x"}}},
		{"blank", dialog{msgs: []chat.Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: " "}}, kinds: []string{"x"}}},
	}
	for _, tc := range tests {
		if err := check(&tc.d); err == nil {
			t.Errorf("%s: check accepted a bad dialogue", tc.name)
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	rows := build(t, "sft_identity", 50)
	rows[0].System = "你是小灵。"
	path := filepath.Join(t.TempDir(), "x.parquet")
	if err := WriteParquet(path, rows, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	back, err := ReadParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameRows(rows, back); err != nil {
		t.Fatal(err)
	}
	if back[1].System != "" || back[0].System != "你是小灵。" {
		t.Errorf("system prompts %q, %q", back[0].System, back[1].System)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the folder, want only the result (no temporary left)", len(entries))
	}
	if _, err := ReadParquet(filepath.Join(t.TempDir(), "missing.parquet")); err == nil {
		t.Error("reading a missing file gave no error")
	}
	if err := WriteParquet(filepath.Join(t.TempDir(), "no", "dir", "x.parquet"), rows, nil); err == nil {
		t.Error("writing into a missing folder gave no error")
	}
}

func TestGenerateUnknown(t *testing.T) {
	if _, err := Generate(t.TempDir(), 1, "nope"); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("err = %v", err)
	}
}

// goldenRand was computed independently (SplitMix64 with the same seed mixing, in Python).
var goldenRand = []uint64{0x8b749f1aa60aa028, 0xebbefc78bbbe5cca, 0x5ffd464c6293ff50}
