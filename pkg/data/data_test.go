package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/loralab/loralab/pkg/chat"
)

// sharedData returns ../shared/data relative to the repository root (found by walking up
// to go.mod), skipping the test when it is absent.
func sharedData(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", name)
	if _, err := os.Stat(filepath.Dir(p)); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	return p
}

func u(s string) chat.Message { return chat.Message{Role: chat.RoleUser, Content: s} }
func a(s string) chat.Message { return chat.Message{Role: chat.RoleAssistant, Content: s} }

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		conv chat.Conversation
		want string // "" = valid; else the exact error
	}{
		{"ok one turn", chat.Conversation{Messages: []chat.Message{u("q"), a("a")}}, ""},
		{"ok system two turns", chat.Conversation{System: "s", Messages: []chat.Message{u("q"), a("a"), u("q2"), a("a2")}}, ""},
		{"no messages", chat.Conversation{System: "s"}, "no messages"},
		{"ends with user", chat.Conversation{Messages: []chat.Message{u("q"), a("a"), u("q2")}}, "message 2: does not end with an assistant reply"},
		{"assistant first", chat.Conversation{Messages: []chat.Message{a("a"), u("q")}}, "message 0: roles do not alternate user/assistant (want user, got assistant)"},
		{"double user", chat.Conversation{Messages: []chat.Message{u("q"), u("q"), a("a")}}, "message 1: roles do not alternate user/assistant (want assistant, got user)"},
		{"empty content", chat.Conversation{Messages: []chat.Message{u("q"), a(" \n")}}, "message 1: empty content"},
		{"unknown role", chat.Conversation{Messages: []chat.Message{u("q"), {Role: "function_call", Content: "{}"}, {Role: "observation", Content: "{}"}, a("a")}}, `message 1: unknown role "function_call"`},
		{"late system", chat.Conversation{Messages: []chat.Message{u("q"), {Role: "system", Content: "s"}, a("a")}}, "message 1: system message after the start"},
	}
	for _, tc := range tests {
		err := Validate(tc.conv)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: Validate = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	got := Normalize("", []chat.Message{{Role: "system", Content: "S"}, {Role: "human", Content: "q"}, {Role: "GPT", Content: "a"}, {Role: "observation", Content: "o"}})
	want := chat.Conversation{System: "S", Messages: []chat.Message{u("q"), a("a"), {Role: "observation", Content: "o"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize = %+v, want %+v", got, want)
	}
	// A system column wins; a system message then stays and is reported by Validate.
	got = Normalize("col", []chat.Message{{Role: "system", Content: "S"}, u("q"), a("a")})
	if got.System != "col" || len(got.Messages) != 3 || Validate(got) == nil {
		t.Errorf("Normalize with system column = %+v", got)
	}
	// The same prompt in the column and as first message is kept once.
	got = Normalize("S", []chat.Message{{Role: "system", Content: "S"}, u("q"), a("a")})
	if got.System != "S" || len(got.Messages) != 2 || Validate(got) != nil {
		t.Errorf("Normalize with duplicate system = %+v", got)
	}
}

func TestImportFastChat(t *testing.T) {
	convs, rep, err := ImportJSON(sharedData(t, "fastchat_dummy_conversation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Read != 500 || rep.Formats["sharegpt"] != 500 {
		t.Fatalf("report %+v, want 500 ShareGPT records", rep)
	}
	if rep.Kept != len(convs) || rep.Kept+rep.NumSkipped() != rep.Read {
		t.Fatalf("inconsistent report %+v for %d conversations", rep, len(convs))
	}
	if rep.Kept != 500 {
		t.Errorf("kept %d of 500:\n%s", rep.Kept, rep.String())
	}
	turns := map[int]int{}
	for _, c := range convs {
		turns[len(c.Messages)]++
	}
	for n := range turns {
		if n < 2 || n > 6 || n%2 != 0 {
			t.Errorf("conversation with %d messages", n)
		}
	}
	if convs[0].Messages[0] != u("Who are you?") || convs[0].Messages[1].Role != chat.RoleAssistant {
		t.Errorf("first conversation = %+v", convs[0])
	}
	t.Logf("fastchat: %s; messages per conversation: %v", rep.String(), turns)
}

func TestImportGlaiveToolCalls(t *testing.T) {
	convs, rep, err := ImportJSON(sharedData(t, "llamafactory_glaive_toolcall_zh_demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Read == 0 || rep.Kept != len(convs) || rep.Kept+rep.NumSkipped() != rep.Read {
		t.Fatalf("inconsistent report %+v", rep)
	}
	fc := rep.Skipped[`unknown role "function_call"`]
	if fc == 0 {
		t.Fatalf("no rows skipped for function_call:\n%s", rep.String())
	}
	ex := rep.Examples[`unknown role "function_call"`]
	if !strings.HasPrefix(ex, "row ") || !strings.Contains(ex, `message 1: unknown role "function_call"`) {
		t.Errorf("example %q does not name row and message", ex)
	}
	for _, c := range convs {
		if err := Validate(c); err != nil {
			t.Errorf("kept an invalid conversation: %v", err)
		}
	}
	t.Logf("glaive tool-call: %s", rep.String())
}

func TestImportIdentityPlaceholders(t *testing.T) {
	convs, rep, err := ImportJSON(sharedData(t, "llamafactory_identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Formats["alpaca"] != rep.Read || rep.Kept != rep.Read || rep.Read < 50 {
		t.Fatalf("report %+v", rep)
	}
	if convs[0].Messages[0] != u("hi") || !strings.Contains(convs[0].Messages[1].Content, "{{name}}") {
		t.Fatalf("first conversation = %+v", convs[0])
	}
	n := ReplacePlaceholders(convs, map[string]string{"name": "小洛", "author": "LoRA Lab"})
	if n < rep.Read {
		t.Errorf("only %d substitutions in %d conversations", n, rep.Read)
	}
	for _, c := range convs {
		for _, m := range c.Messages {
			if strings.Contains(m.Content, "{{name}}") || strings.Contains(m.Content, "{{author}}") {
				t.Fatalf("placeholder left in %q", m.Content)
			}
		}
	}
	if want := "Hello! I am 小洛, an AI assistant developed by LoRA Lab. How can I assist you today?"; convs[0].Messages[1].Content != want {
		t.Errorf("got %q, want %q", convs[0].Messages[1].Content, want)
	}
}

func TestParseJSONFormats(t *testing.T) {
	jsonl := `{"messages":[{"role":"system","content":"S"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}
{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"a"}],"system":"S2"}
{"instruction":"Translate","input":"你好","output":"Hello","history":[["hi","hey"]]}
{"instruction":"no output"}
{"messages":[{"role":"user","content":[{"type":"text","text":"multimodal"}]},{"role":"assistant","content":"x"}]}
{"messages":[{"role":"user","content":"q"}]}
`
	convs, rep, err := ParseJSON(strings.NewReader(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.Conversation{
		{System: "S", Messages: []chat.Message{u("q"), a("a")}},
		{System: "S2", Messages: []chat.Message{u("q"), a("a")}},
		{Messages: []chat.Message{u("hi"), a("hey"), u("Translate\n你好"), a("Hello")}},
	}
	if !reflect.DeepEqual(convs, want) {
		t.Errorf("conversations:\n got %+v\nwant %+v", convs, want)
	}
	if rep.Read != 6 || rep.Kept != 3 || rep.Skipped[ReasonBadRecord] != 2 || rep.Skipped[ReasonNoFinalReply] != 1 {
		t.Errorf("report: %s", rep.String())
	}
	if got := rep.Examples[ReasonNoFinalReply]; got != "row 5: message 0: does not end with an assistant reply" {
		t.Errorf("example = %q", got)
	}
	for _, bad := range []string{"", "  ", "hello", "[{]", `[{"messages":[]}`} {
		if _, _, err := ParseJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseJSON(%q): no error", bad)
		}
	}
}

// shareGPTRow writes the ShareGPT schema with parquet-go's LIST layout plus an extra column.
type shareGPTRow struct {
	ID            string      `parquet:"id"`
	Conversations []fromValue `parquet:"conversations,list"`
}

type fromValue struct {
	From  string `parquet:"from"`
	Value string `parquet:"value"`
}

// legacyRow uses the two-level layout (repeated group, no LIST annotation) and an optional system.
type legacyRow struct {
	System   *string `parquet:"system,optional"`
	Messages []struct {
		Role    string `parquet:"role"`
		Content string `parquet:"content"`
	} `parquet:"messages"`
}

func writeRows[T any](t testing.TB, path string, rows []T, opts ...parquet.WriterOption) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func sampleConvs(n int) []chat.Conversation {
	convs := make([]chat.Conversation, n)
	for i := range convs {
		c := chat.Conversation{}
		if i%3 == 0 {
			c.System = fmt.Sprintf("系统提示 %d", i)
		}
		for k := 0; k <= i%4; k++ {
			c.Messages = append(c.Messages, u(fmt.Sprintf("问题 %d.%d <｜end▁of▁sentence｜>", i, k)), a(strings.Repeat("答", i%7+1)))
		}
		convs[i] = c
	}
	return convs
}

func TestParquetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "convs.parquet")
	convs := sampleConvs(53)
	if err := WriteParquetOptions(path, convs, WriterOptions{RowsPerGroup: 7}); err != nil {
		t.Fatal(err)
	}
	r, err := OpenParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Schema() != SchemaOpenAI || r.NumRows() != 53 {
		t.Errorf("schema %s rows %d", r.Schema(), r.NumRows())
	}
	if g := len(r.file.RowGroups()); g != 8 {
		t.Errorf("%d row groups, want 8", g)
	}
	var got []chat.Conversation
	for {
		c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if !reflect.DeepEqual(got, convs) {
		t.Errorf("round trip differs")
	}
	all, rep, err := ReadParquet(path, false)
	if err != nil || !reflect.DeepEqual(all, convs) || rep.Kept != 53 || rep.Formats["parquet-openai"] != 53 {
		t.Errorf("ReadParquet: err %v, report %+v", err, rep)
	}
	// No temporary files left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestParquetShareGPTAndLegacyLayouts(t *testing.T) {
	dir := t.TempDir()
	sg := filepath.Join(dir, "sharegpt.parquet")
	writeRows(t, sg, []shareGPTRow{
		{ID: "a", Conversations: []fromValue{{"system", "S"}, {"human", "q1"}, {"gpt", "a1"}}},
		{ID: "b", Conversations: nil},
		{ID: "c", Conversations: []fromValue{{"human", "q"}, {"observation", "o"}, {"gpt", "a"}}},
	})
	convs, rep, err := ReadParquet(sg, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []chat.Conversation{{System: "S", Messages: []chat.Message{u("q1"), a("a1")}}}
	if !reflect.DeepEqual(convs, want) {
		t.Errorf("sharegpt: got %+v", convs)
	}
	if rep.Read != 3 || rep.Skipped[ReasonNoMessages] != 1 || rep.Skipped[`unknown role "observation"`] != 1 ||
		rep.Examples[`unknown role "observation"`] != `row 2: message 1: unknown role "observation"` {
		t.Errorf("sharegpt report: %+v", rep)
	}
	if _, _, err := ReadParquet(sg, false); err == nil || !strings.Contains(err.Error(), "row 1: no messages") {
		t.Errorf("strict read error = %v", err)
	}

	legacy := filepath.Join(dir, "legacy.parquet")
	s := "sys"
	rows := make([]legacyRow, 2)
	rows[0].System = &s
	rows[0].Messages = append(rows[0].Messages, struct {
		Role    string `parquet:"role"`
		Content string `parquet:"content"`
	}{"user", "q"}, struct {
		Role    string `parquet:"role"`
		Content string `parquet:"content"`
	}{"assistant", "a"})
	writeRows(t, legacy, rows)
	got, err := ReadAll(legacy)
	if err != nil {
		t.Fatal(err)
	}
	want = []chat.Conversation{{System: "sys", Messages: []chat.Message{u("q"), a("a")}}, {Messages: nil}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("legacy: got %+v want %+v", got, want)
	}
}

// pyarrowRow reproduces the layout pyarrow / HF datasets write: every level optional,
// three-level LIST with "list"/"element" names.
type pyarrowRow struct {
	Messages []*pyarrowMsg `parquet:"messages,optional,list"`
	System   *string       `parquet:"system,optional"`
}

type pyarrowMsg struct {
	Role    *string `parquet:"role,optional"`
	Content *string `parquet:"content,optional"`
}

func TestParquetPyarrowLayout(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hf.parquet")
	s := func(x string) *string { return &x }
	writeRows(t, p, []pyarrowRow{
		{Messages: []*pyarrowMsg{{s("user"), s("q")}, {s("assistant"), s("a")}}, System: s("S")},
		{},                          // null list
		{Messages: []*pyarrowMsg{}}, // empty list
		{Messages: []*pyarrowMsg{{s("user"), s("q")}, nil, {s("assistant"), nil}}}, // null element, null content
	})
	r, err := OpenParquet(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []chat.Conversation
	for c, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	want := []chat.Conversation{
		{System: "S", Messages: []chat.Message{u("q"), a("a")}},
		{}, {},
		{Messages: []chat.Message{u("q"), {}, {Role: "assistant"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if r.role.path != "messages.list.element.role" || r.role.elemDef != 2 {
		t.Errorf("role leaf %s elemDef %d", r.role.path, r.role.elemDef)
	}
}

func TestParquetErrors(t *testing.T) {
	dir := t.TempDir()
	noConv := filepath.Join(dir, "noconv.parquet")
	writeRows(t, noConv, []struct {
		Text string `parquet:"text"`
	}{{"x"}})
	if _, err := OpenParquet(noConv); err == nil || !strings.Contains(err.Error(), `neither a "messages" nor a "conversations"`) {
		t.Errorf("err = %v", err)
	}
	if _, err := OpenParquet(filepath.Join(dir, "missing.parquet")); err == nil {
		t.Error("missing file: no error")
	}
	junk := filepath.Join(dir, "junk.parquet")
	os.WriteFile(junk, []byte("PAR1 not really PAR1"), 0o644)
	if _, err := OpenParquet(junk); err == nil {
		t.Error("junk file: no error")
	}
	// Writing into a missing directory fails without leaving anything.
	if err := WriteParquet(filepath.Join(dir, "nodir", "x.parquet"), sampleConvs(2)); err == nil {
		t.Error("write to missing dir: no error")
	}
}

func TestImportToParquetFastChat(t *testing.T) {
	convs, _, err := ImportJSON(sharedData(t, "fastchat_dummy_conversation.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fastchat.parquet")
	if err := WriteParquet(path, convs); err != nil {
		t.Fatal(err)
	}
	back, rep, err := ReadParquet(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, convs) || rep.Kept != 500 {
		t.Errorf("fastchat parquet round trip: %d back, report %+v", len(back), rep)
	}
}

func TestImportJSONToParquetIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.parquet")
	rep, err := ImportJSONToParquet(sharedData(t, "llamafactory_identity.json"), path, map[string]string{"name": "Tiny", "author": "LoRA Lab"})
	if err != nil {
		t.Fatal(err)
	}
	convs, rep2, err := ReadParquet(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kept != len(convs) || rep2.Kept != rep.Read {
		t.Fatalf("import %+v, read back %+v", rep, rep2)
	}
	if got := convs[0].Messages[1].Content; got != "Hello! I am Tiny, an AI assistant developed by LoRA Lab. How can I assist you today?" {
		t.Errorf("first reply %q", got)
	}
	// A broken JSON file leaves no Parquet file behind.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`[{"messages": []}, {`), 0o644)
	out := filepath.Join(t.TempDir(), "bad.parquet")
	if _, err := ImportJSONToParquet(bad, out, nil); err == nil {
		t.Error("broken JSON: no error")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("broken import left %s (%v)", out, err)
	}
}

func TestSplit(t *testing.T) {
	items := make([]int, 100)
	for i := range items {
		items[i] = i
	}
	tr, va, err := Split(items, 0.1, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 90 || len(va) != 10 {
		t.Fatalf("sizes %d/%d", len(tr), len(va))
	}
	seen := map[int]bool{}
	for _, part := range [][]int{tr, va} {
		for i, x := range part {
			if seen[x] {
				t.Fatalf("%d in both parts", x)
			}
			seen[x] = true
			if i > 0 && part[i-1] >= x {
				t.Fatalf("order not kept")
			}
		}
	}
	tr2, va2, _ := Split(items, 0.1, 42)
	if !reflect.DeepEqual(tr, tr2) || !reflect.DeepEqual(va, va2) {
		t.Error("same seed, different split")
	}
	_, va3, _ := Split(items, 0.1, 43)
	if reflect.DeepEqual(va, va3) {
		t.Error("different seeds, same split")
	}
	for _, tc := range []struct {
		n      int
		f      float64
		nValid int
	}{{0, 0.5, 0}, {1, 0.5, 0}, {2, 0.01, 1}, {10, 0, 0}, {3, 0.99, 2}} {
		_, va, err := Split(make([]int, tc.n), tc.f, 1)
		if err != nil || len(va) != tc.nValid {
			t.Errorf("Split(n=%d, %v): %d valid, err %v; want %d", tc.n, tc.f, len(va), err, tc.nValid)
		}
	}
	for _, f := range []float64{-0.1, 1, 2} {
		if _, _, err := Split(items, f, 1); err == nil {
			t.Errorf("fraction %v: no error", f)
		}
	}
}

func TestReportString(t *testing.T) {
	var r Report
	r.Read = 3
	r.Kept = 1
	r.skip(&InvalidError{Row: 1, Message: 0, Reason: ReasonEmptyContent})
	r.skip(&InvalidError{Row: 2, Message: 0, Reason: ReasonEmptyContent})
	want := "read 3, kept 1, skipped 2\n       2  empty content  e.g. row 1: message 0: empty content"
	if got := r.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	var ie *InvalidError
	if err := CheckAll([]chat.Conversation{{Messages: []chat.Message{u("q"), a("a")}}, {}}); !errors.As(err, &ie) || ie.Row != 1 {
		t.Errorf("CheckAll = %v", err)
	}
}

func BenchmarkReadParquet(b *testing.B) {
	convs := sampleConvs(10_000)
	path := filepath.Join(b.TempDir(), "bench.parquet")
	if err := WriteParquet(path, convs); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.ReportAllocs()
	msgs := 0
	for b.Loop() {
		r, err := OpenParquet(path)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for c, err := range r.All() {
			if err != nil {
				b.Fatal(err)
			}
			n++
			msgs += len(c.Messages)
		}
		r.Close()
		if n != len(convs) {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(len(convs)*b.N)/b.Elapsed().Seconds(), "convs/s")
	b.ReportMetric(float64(st.Size()), "file-bytes")
}

func BenchmarkWriteParquet(b *testing.B) {
	convs := sampleConvs(10_000)
	path := filepath.Join(b.TempDir(), "bench.parquet")
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteParquet(path, convs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(convs)*b.N)/b.Elapsed().Seconds(), "convs/s")
}

// TestDamagedPageHeader: a page header whose Thrift data announces a huge container is
// rejected by checkPages before parquet-go spins on it (see thriftcheck.go).
func TestDamagedPageHeader(t *testing.T) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[parquetRow](&buf)
	s := "s"
	w.Write([]parquetRow{{System: &s, Messages: []chat.Message{u("q"), a("a")}}, {}})
	w.Close()
	b := bytes.Clone(buf.Bytes())
	b[10] ^= 0xff // found by FuzzReadParquet: turns a page header field into a SET of doubles
	r, err := NewParquetReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Next()
	if err == nil || !strings.Contains(err.Error(), "page header at byte 4") {
		t.Fatalf("err = %v, want a page header error", err)
	}
	t.Log(err)
	// The footer check: a truncated file and a lying footer length.
	for _, bad := range [][]byte{buf.Bytes()[:len(buf.Bytes())-3], append(bytes.Clone(buf.Bytes()[:len(buf.Bytes())-8]), 0xff, 0xff, 0xff, 0x0f, 'P', 'A', 'R', '1')} {
		if _, err := NewParquetReader(bytes.NewReader(bad), int64(len(bad))); err == nil {
			t.Errorf("damaged footer accepted")
		}
	}
}

func TestThriftScan(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"empty struct", []byte{0}, true},
		{"i32 field 3 = 5", []byte{0x35, 10, 0}, true},
		{"binary", []byte{0x18, 3, 'a', 'b', 'c', 0}, true},
		{"list of 2 i32", []byte{0x19, 0x25, 2, 4, 0}, true},
		{"nested struct", []byte{0x1c, 0x15, 2, 0, 0}, true},
		{"map 1 entry", []byte{0x1b, 1, 0x55, 2, 4, 0}, true},
		{"truncated", []byte{0x35}, false},
		{"huge set of doubles", []byte{0x1a, 0xf7, 0xff, 0xff, 0xff, 0xff, 0x07, 0}, false},
		{"binary past end", []byte{0x18, 100, 'a'}, false},
		{"unknown type", []byte{0x1e, 0}, false},
	}
	for _, tc := range tests {
		var got []int64
		s := thriftScan{b: tc.b}
		_, err := s.skipStruct(0, func(id, v int64) { got = append(got, id, v) })
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if tc.name == "i32 field 3 = 5" && !reflect.DeepEqual(got, []int64{3, 5}) {
			t.Errorf("%s: i32 fields %v", tc.name, got)
		}
	}
}

// FuzzReadParquet: arbitrary bytes give conversations or an error, never a panic.
func FuzzReadParquet(f *testing.F) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[parquetRow](&buf)
	s := "s"
	w.Write([]parquetRow{{System: &s, Messages: []chat.Message{u("q"), a("a")}}, {}})
	w.Close()
	valid := buf.Bytes()
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewParquetReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for i := 0; i < 10_000; i++ {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		r.Close()
	})
}
