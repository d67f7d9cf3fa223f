package maskplot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/plot"
)

func TestTokensChart(t *testing.T) {
	if _, err := plot.EChartsJS(); err != nil {
		t.Skip(err)
	}
	page := filepath.Join(t.TempDir(), "tokens.html")
	c := TokensChart("tokens", Strategy{"last_turn_only", mask.Stats{TokensProcessed: 100, SupervisedTokens: 10}},
		Strategy{"all_assistant_turns", mask.Stats{TokensProcessed: 100, SupervisedTokens: 30, PaddingTokens: 5}})
	if err := plot.SaveHTML(page, "tokens", c); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(page)
	for _, want := range []string{`"bar"`, "all_assistant_turns", "padding tokens"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
