package datasets_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/loralab/loralab/datasets"
	"github.com/loralab/loralab/datasets/gen"
	"github.com/loralab/loralab/pkg/chat"
	"github.com/parquet-go/parquet-go"
)

// cardCounts reads the "| split | `file` | dialogues |" rows of a dataset card.
func cardCounts(t *testing.T, name string) map[string]int {
	t.Helper()
	p, err := datasets.CardPath(name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?m)^\\| (train|validation) \\| `(train|validation)\\.parquet` \\| (\\d+) \\|")
	counts := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		n, _ := strconv.Atoi(m[3])
		counts[m[1]] = n
	}
	if len(counts) != 2 {
		t.Fatalf("%s: card lists %d splits, want 2", p, len(counts))
	}
	return counts
}

// TestCommittedFiles reads every committed file back, as the generator's rows and as plain
// chat.Conversation rows, and checks the counts in the card and the shape of every dialogue.
func TestCommittedFiles(t *testing.T) {
	for _, name := range datasets.Names() {
		counts := cardCounts(t, name)
		spec, err := gen.SpecByName(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, split := range datasets.Splits() {
			t.Run(name+"/"+split, func(t *testing.T) {
				path, err := datasets.Path(name, split)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := gen.ReadParquet(path)
				if err != nil {
					t.Fatal(err)
				}
				convs, err := parquet.ReadFile[chat.Conversation](path)
				if err != nil {
					t.Fatalf("read as chat.Conversation: %v", err)
				}
				if len(rows) != counts[split] || len(convs) != len(rows) || len(rows) != spec.Size(split) {
					t.Fatalf("%d rows, %d conversations; card says %d, spec %d", len(rows), len(convs), counts[split], spec.Size(split))
				}
				ids := map[string]bool{}
				langs := map[string]int{}
				for i, r := range rows {
					if ids[r.ID] {
						t.Fatalf("row %d: duplicate id %q", i, r.ID)
					}
					ids[r.ID] = true
					langs[r.Lang]++
					if convs[i].System != r.System || len(convs[i].Messages) != len(r.Messages) {
						t.Fatalf("row %d: chat.Conversation view differs", i)
					}
					if len(r.Messages) == 0 || len(r.Messages)%2 != 0 || len(r.Kinds) != len(r.Messages)/2 {
						t.Fatalf("row %d: %d messages, %d kinds", i, len(r.Messages), len(r.Kinds))
					}
					for j, m := range r.Messages {
						want := chat.RoleUser
						if j%2 == 1 {
							want = chat.RoleAssistant
						}
						if m.Role != want || strings.TrimSpace(m.Content) == "" {
							t.Fatalf("row %d message %d: role %q (want %q), content %q", i, j, m.Role, want, m.Content)
						}
						if convs[i].Messages[j] != m {
							t.Fatalf("row %d message %d: chat.Conversation view differs", i, j)
						}
					}
				}
				if langs["zh"] != len(rows)/2 || langs["en"] != len(rows)-len(rows)/2 {
					t.Errorf("languages %v, want half zh, half en", langs)
				}
			})
		}
	}
}

// TestRegenerateIsByteIdentical regenerates every dataset into a temporary folder and
// compares each file, cards included, byte for byte with the committed ones.
func TestRegenerateIsByteIdentical(t *testing.T) {
	dir, err := datasets.Dir()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if _, err := gen.Generate(tmp, gen.DefaultSeed); err != nil {
		t.Fatal(err)
	}
	for _, name := range datasets.Names() {
		for _, file := range []string{"train.parquet", "validation.parquet", "README.md"} {
			want, err := os.ReadFile(filepath.Join(dir, name, file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(tmp, name, file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s: regenerated file differs from the committed one (%d vs %d bytes); run `go run ./datasets/cmd/gendata -out datasets`", name, file, len(got), len(want))
			}
		}
	}
}

func TestPathErrors(t *testing.T) {
	tests := []struct {
		name, split, env string
		wantErr          string
	}{
		{datasets.SFTRecall, datasets.Train, "", ""},
		{"nope", datasets.Train, "", "unknown dataset"},
		{datasets.Pretrain, "test", "", "unknown split"},
		{datasets.Pretrain, datasets.Train, t.TempDir(), "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.split, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(datasets.EnvDir, tc.env)
			}
			p, err := datasets.Path(tc.name, tc.split)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr == "" && !strings.HasSuffix(p, filepath.Join(tc.name, tc.split+".parquet")):
				t.Fatalf("path %q", p)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestDirFromEnv(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv(datasets.EnvDir, tmp)
	d, err := datasets.Dir()
	if err != nil || d != tmp {
		t.Fatalf("Dir() = %q, %v; want %q", d, err, tmp)
	}
}
