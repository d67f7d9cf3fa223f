package lora

import (
	"bytes"
	"log"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loralab/loralab/pkg/llama"
)

// TestConfigRefusesBadValues: the adapter_config.json values issue 13 found accepted.
func TestConfigRefusesBadValues(t *testing.T) {
	mc := llama.DefaultConfig(50, 16, 32, 3, 4, 2)
	for _, tc := range []struct{ name, json, wantErr string }{
		{"alpha zero", `{"lora_alpha": 0}`, "lora_alpha must be a positive finite number, got 0"},
		{"alpha negative", `{"lora_alpha": -16}`, "lora_alpha must be a positive finite number, got -16"},
		{"alpha_pattern negative", `{"alpha_pattern": {"q_proj": -1}}`, `alpha_pattern["q_proj"] must be a positive`},
		{"negative layer", `{"layers_to_transform": [0, -1]}`, "layers_to_transform[1] = -1 is negative"},
		{"layer out of range", `{"layers_to_transform": 3}`, "layers_to_transform[0] = 3 is out of range: the model has 3 layers (0…2)"},
		// q_proj 16->16 and v_proj 16->8 in 3 layers: r·(32+24)·3 = 168·r parameters.
		{"absurd r", `{"r": 100000000}`, "r=100000000 gives 1.68e+10 trainable LoRA parameters, more than the model's"},
		{"absurd rank_pattern", `{"rank_pattern": {"q_proj": 1000000000000}}`, "trainable LoRA parameters, more than the model's"},
	} {
		cfg, err := ParseConfig([]byte(tc.json))
		if err == nil {
			_, err = cfg.Resolve(mc)
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.wantErr)
		}
	}
	// The absurd rank's error says what training would need.
	cfg, _ := ParseConfig([]byte(`{"r": 100000000}`))
	if _, err := cfg.Resolve(mc); err == nil || !strings.Contains(err.Error(), "needs about 250 GiB") {
		t.Errorf("absurd r: %v, want the memory it would need (16 B × 1.68e10 = 250 GiB)", err)
	}
	// Non-finite values cannot come from JSON, but can from Go code.
	for _, a := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		c := DefaultConfig()
		c.LoraAlpha = a
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "lora_alpha") {
			t.Errorf("lora_alpha %g: %v", a, err)
		}
	}
	c := DefaultConfig()
	c.LoraDropout = math.NaN()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "lora_dropout") {
		t.Errorf("lora_dropout NaN: %v", err)
	}
}

// TestConfigUnknownFields: keys LoraConfig does not have are listed and warned about, and the
// rest of the file loads, as PEFT does.
func TestConfigUnknownFields(t *testing.T) {
	var buf bytes.Buffer
	log.SetOutput(&buf)
	defer log.SetOutput(log.Writer())
	flags := log.Flags()
	log.SetFlags(0)
	defer log.SetFlags(flags)
	cfg, err := ParseConfig([]byte(`{"r": 4, "lora_alpah": 16, "some_future_option": {"x": 1}, "peft_version": "0.18.0"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"lora_alpah", "some_future_option"}
	if !slices.Equal(cfg.UnknownFields, want) || cfg.R != 4 {
		t.Errorf("UnknownFields %v (r %d), want %v", cfg.UnknownFields, cfg.R, want)
	}
	if msg := buf.String(); !strings.Contains(msg, `["lora_alpah" "some_future_option"]`) || !strings.Contains(msg, "ignored") {
		t.Errorf("warning %q does not list the keys", msg)
	}
	buf.Reset()
	// Options PEFT 0.21 writes are known: off, they load quietly; on, they are refused.
	if cfg, err := ParseConfig([]byte(`{"r": 4, "use_bdlora": false, "kasa_config": null, "velora_config": null}`)); err != nil || cfg.UnknownFields != nil || buf.Len() != 0 {
		t.Errorf("PEFT 0.21 keys, off: %v, unknown %v, warning %q", err, cfg.UnknownFields, buf.String())
	}
	if _, err := ParseConfig([]byte(`{"use_bdlora": true}`)); err == nil || !strings.Contains(err.Error(), "use_bdlora") {
		t.Errorf("use_bdlora=true: %v, want it refused", err)
	}
	if cfg, err := ParseConfig([]byte(`{"r": 4}`)); err != nil || cfg.UnknownFields != nil || buf.Len() != 0 {
		t.Errorf("clean file: %v, unknown %v, warning %q", err, cfg.UnknownFields, buf.String())
	}
}
