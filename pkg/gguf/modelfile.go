package gguf

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/loralab/loralab/pkg/atomicfile"
)

// ollamaTemplate is an Ollama TEMPLATE (a Go text/template over .Messages, each with .Role and
// .Content, system messages included) that renders a conversation with the generation prompt
// exactly as the built-in chat template of the same name does, and the stop strings that end
// an assistant reply.
type ollamaTemplate struct {
	template string
	stops    []string
}

// ollamaTemplates are the translations of pkg/chat's built-in templates (a test renders both
// and compares). Llama 3 strips message contents and Ollama's templates cannot: contents are
// taken as they are.
var ollamaTemplates = map[string]ollamaTemplate{
	"tiny": {`<|bos|>{{ range .Messages }}<|{{ .Role }}|>{{ .Content }}<|end|>{{ end }}<|assistant|>`, []string{"<|end|>"}},
	"chatml": {`{{ if or (not .Messages) (ne (index .Messages 0).Role "system") }}<|im_start|>system
You are a helpful assistant.<|im_end|>
{{ end }}{{ range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`, []string{"<|im_end|>"}},
	"llama3": {`<|begin_of_text|>{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>

{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

`, []string{"<|eot_id|>"}},
	"deepseek": {`<｜begin▁of▁sentence｜>{{ range .Messages }}{{ if eq .Role "system" }}{{ .Content }}

{{ else if eq .Role "user" }}User: {{ .Content }}

{{ else }}Assistant: {{ .Content }}<｜end▁of▁sentence｜>{{ end }}{{ end }}Assistant:`, []string{"<｜end▁of▁sentence｜>", "User:"}},
	"deepseek3": {`<｜begin▁of▁sentence｜>{{ range .Messages }}{{ if eq .Role "system" }}{{ .Content }}{{ else if eq .Role "user" }}<｜User｜>{{ .Content }}{{ else }}<｜Assistant｜>{{ .Content }}<｜end▁of▁sentence｜>{{ end }}{{ end }}<｜Assistant｜>`, []string{"<｜end▁of▁sentence｜>"}},
}

// Modelfile is an Ollama Modelfile: `ollama create NAME -f Modelfile` builds a model from the
// GGUF base (FROM), with the GGUF LoRA adapter (ADAPTER, optional), the chat template
// translated from the built-in template of that name (TEMPLATE) and its stop strings.
// Paths are written relative to the Modelfile's folder when they are inside it.
type Modelfile struct {
	From, Adapter string // GGUF files
	Template      string // a built-in chat template name: tiny, chatml, llama3, deepseek, deepseek3
	System        string // optional SYSTEM message
}

// String renders the Modelfile with paths as given.
func (m Modelfile) String() (string, error) {
	t, ok := ollamaTemplates[m.Template]
	if !ok {
		var names []string
		for n := range ollamaTemplates {
			names = append(names, n)
		}
		return "", fmt.Errorf("gguf: no Ollama TEMPLATE for chat template %q (have %s)", m.Template, strings.Join(sortedStrings(names), ", "))
	}
	if m.From == "" {
		return "", fmt.Errorf("gguf: Modelfile needs FROM (the GGUF base model)")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", m.From)
	if m.Adapter != "" {
		fmt.Fprintf(&b, "ADAPTER %s\n", m.Adapter)
	}
	fmt.Fprintf(&b, "TEMPLATE \"\"\"%s\"\"\"\n", t.template)
	if m.System != "" {
		fmt.Fprintf(&b, "SYSTEM \"\"\"%s\"\"\"\n", m.System)
	}
	for _, s := range t.stops {
		fmt.Fprintf(&b, "PARAMETER stop %q\n", s)
	}
	return b.String(), nil
}

// Write writes the Modelfile to path atomically, with FROM and ADAPTER relative to its folder.
func (m Modelfile) Write(path string) error {
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" {
			return ""
		}
		if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
			return "./" + r
		}
		return p
	}
	m.From, m.Adapter = rel(m.From), rel(m.Adapter)
	s, err := m.String()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(s))
}

func sortedStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}
