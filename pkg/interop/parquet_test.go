package interop

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/data"
)

// rawMessage is a list element as Python wrote it: either layout's keys, nulls kept.
type rawMessage struct {
	Role    *string `json:"role"`
	Content *string `json:"content"`
	From    *string `json:"from"`
	Value   *string `json:"value"`
}

// rawRow is a row as Python wrote it (expected.json): a null list is a nil slice.
type rawRow struct {
	System        *string      `json:"system"`
	Messages      []rawMessage `json:"messages"`
	Conversations []rawMessage `json:"conversations"`
}

// want is what pkg/data must return for a row: the written fields, null as "", through
// data.Normalize (ShareGPT roles mapped, a leading system message moved to System).
func (r rawRow) want() chat.Conversation {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var msgs []chat.Message
	for _, m := range append(r.Messages, r.Conversations...) {
		if m.From != nil || m.Value != nil {
			msgs = append(msgs, chat.Message{Role: str(m.From), Content: str(m.Value)})
		} else {
			msgs = append(msgs, chat.Message{Role: str(m.Role), Content: str(m.Content)})
		}
	}
	return data.Normalize(str(r.System), msgs)
}

func sameConversation(a, b chat.Conversation) bool {
	if a.System != b.System || len(a.Messages) != len(b.Messages) {
		return false
	}
	for i := range a.Messages {
		if a.Messages[i] != b.Messages[i] {
			return false
		}
	}
	return true
}

// checkParquetDir reads every file listed in dir/expected.json with pkg/data and compares
// each row with what Python wrote.
func checkParquetDir(t *testing.T, dir string) {
	t.Helper()
	var exp struct {
		PyArrow  string              `json:"pyarrow"`
		Datasets string              `json:"datasets"`
		Files    map[string][]rawRow `json:"files"`
	}
	readJSON(t, filepath.Join(dir, "expected.json"), &exp)
	if len(exp.Files) < 5 {
		t.Fatalf("%s/expected.json lists %d files, want 5", dir, len(exp.Files))
	}
	names := make([]string, 0, len(exp.Files))
	for n := range exp.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		rows := exp.Files[name]
		t.Run(name, func(t *testing.T) {
			got, err := data.ReadAll(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("pkg/data cannot read what pyarrow %s / datasets %s wrote: %v", exp.PyArrow, exp.Datasets, err)
			}
			if len(got) != len(rows) {
				t.Fatalf("%d rows read, %d written", len(got), len(rows))
			}
			bad := 0
			for i, r := range rows {
				if w := r.want(); !sameConversation(got[i], w) {
					if bad++; bad <= 3 {
						t.Errorf("row %d:\nread  %+v\nwrote %+v", i, got[i], w)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d rows differ", bad, len(rows))
			}
		})
	}
}

// TestReadParquetFixtures reads the committed files that pyarrow and datasets wrote
// (testdata/parquet, made by `parquet_interop.py write testdata/parquet`): both conversation
// layouts, nulls, extra nested columns, dictionary and plain encodings, zstd, snappy and
// data page v2, one large row group and many small ones, large_string/large_list. No Python.
func TestReadParquetFixtures(t *testing.T) {
	checkParquetDir(t, filepath.Join("testdata", "parquet"))
}

// TestReadParquetWrittenNow is the same check on files the installed pyarrow and datasets
// write now, so that a new release that changes their output is caught.
func TestReadParquetWrittenNow(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	runPython(t, py, "parquet_interop.py", "write", dir)
	checkParquetDir(t, dir)
}

// TestDatasetsReadsOurParquet writes conversations with pkg/data (many row groups, system
// prompts present and absent, Chinese, emoji, long texts) and has
// datasets.load_dataset("parquet", …) read them back: same rows, same order.
func TestDatasetsReadsOurParquet(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	convs := conversations(t)
	shared := filepath.Join("..", "..", "..", "shared", "data", "fastchat_dummy_conversation.json")
	real, _, err := data.ImportJSON(shared)
	if err != nil {
		t.Fatal(err)
	}
	convs = append(convs, real...)
	long := chat.Conversation{Messages: []chat.Message{{Role: "user", Content: fmt.Sprintf("%0100000d", 7)}, {Role: "assistant", Content: "好"}}}
	convs = append(convs, long)
	path := filepath.Join(dir, "ours.parquet")
	if err := data.WriteParquetOptions(path, convs, data.WriterOptions{RowsPerGroup: 64}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rows.json")
	runPython(t, py, "parquet_interop.py", "read", path, out)
	var res struct {
		Features string   `json:"features"`
		Rows     []rawRow `json:"rows"`
	}
	readJSON(t, out, &res)
	if len(res.Rows) != len(convs) {
		t.Fatalf("datasets read %d rows, we wrote %d", len(res.Rows), len(convs))
	}
	bad := 0
	for i, r := range res.Rows {
		var got chat.Conversation
		if r.System != nil {
			got.System = *r.System
		}
		for _, m := range r.Messages {
			if m.Role == nil || m.Content == nil {
				t.Fatalf("row %d: datasets read a null role or content: %+v", i, m)
			}
			got.Messages = append(got.Messages, chat.Message{Role: *m.Role, Content: *m.Content})
		}
		if (convs[i].System == "") != (r.System == nil) || !sameConversation(got, convs[i]) {
			if bad++; bad <= 3 {
				t.Errorf("row %d:\ndatasets read %+v (system null: %v)\nwe wrote     %+v", i, got, r.System == nil, convs[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d rows differ", bad, len(convs))
	}
	t.Logf("datasets read %d rows with features %s", len(res.Rows), res.Features)
}
