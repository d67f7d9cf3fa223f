package llama

import (
	"strings"
	"testing"
)

// TestConfigRefusesNegativeSizes: sizes HF would reject are refused, naming the field (issue 13).
func TestConfigRefusesNegativeSizes(t *testing.T) {
	base := `"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2`
	for _, tc := range []struct{ name, json, wantErr string }{
		{"negative head_dim", `{` + base + `, "head_dim": -4}`, "head_dim must be positive"},
		{"negative max_position_embeddings", `{` + base + `, "max_position_embeddings": -1}`, "max_position_embeddings must not be negative"},
	} {
		if _, err := ParseConfig([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.wantErr)
		}
	}
}
