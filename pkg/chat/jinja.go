package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ardanlabs/jinja"
)

// The Jinja engine is github.com/ardanlabs/jinja, a Go implementation of the Jinja2 subset
// that Hugging Face chat templates use (namespace, loop, tojson, trim, raise_exception,
// strftime_now, loop controls, trim_blocks and lstrip_blocks as transformers sets them). It
// is checked byte for byte against python3-jinja2 on the real templates of DeepSeek-V3,
// deepseek-llm-7b-chat, Qwen3, Llama 3 and 3.1 (tools included) and Gemma 3
// (testdata/golden.json), and transformers' apply_chat_template agrees with those goldens
// (testdata/check_transformers.py). Two source
// rewrites make it match transformers where it does not by itself:
//
//   - `| trim` without arguments strips Python's whitespace (str.strip, which also counts
//     U+001C..U+001F); the engine's own trim uses Go's unicode.IsSpace.
//   - `{% generation %}` / `{% endgeneration %}` (transformers' AssistantTracker extension,
//     which renders its body unchanged) become `{% if true %}` / `{% endif %}`, keeping
//     every whitespace-control mark.

// pyWhitespaceVar is the context variable holding every code point Python's str.isspace()
// accepts, the argument the rewritten `| trim` passes.
const pyWhitespaceVar = "__loralab_py_whitespace__"

var pyWhitespace = func() string {
	var sb strings.Builder
	for r := rune(0); r < 0x3100; r++ { // the last Python whitespace is U+3000
		if isPySpace(r) {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}()

// jinjaTemplate is a compiled chat_template.
type jinjaTemplate struct {
	t *jinja.Template
}

// compileJinja compiles a chat_template source as transformers does.
func compileJinja(source string) (*jinjaTemplate, error) {
	t, err := jinja.Compile(rewriteJinja(source))
	if err != nil {
		return nil, err
	}
	return &jinjaTemplate{t: t}, nil
}

// execute renders the template with ctx (values already converted).
func (j *jinjaTemplate) execute(ctx map[string]jinja.Value) (string, error) {
	ctx[pyWhitespaceVar] = jinja.NewString(pyWhitespace)
	return j.t.RenderValues(ctx)
}

// rewriteJinja applies the two source rewrites described above, inside tags only.
func rewriteJinja(src string) string {
	var sb strings.Builder
	for {
		i := strings.Index(src, "{")
		if i < 0 || i+1 >= len(src) {
			sb.WriteString(src)
			return sb.String()
		}
		var closer string
		switch src[i+1] {
		case '{':
			closer = "}}"
		case '%':
			closer = "%}"
		case '#':
			closer = "#}"
		default:
			sb.WriteString(src[:i+1])
			src = src[i+1:]
			continue
		}
		end := strings.Index(src[i+2:], closer)
		if end < 0 {
			sb.WriteString(src)
			return sb.String()
		}
		tag := src[i : i+2+end+2]
		sb.WriteString(src[:i])
		switch {
		case closer == "#}":
			sb.WriteString(tag)
		case closer == "%}" && tagWord(tag) == "generation":
			sb.WriteString(strings.Replace(tag, "generation", "if true", 1))
		case closer == "%}" && tagWord(tag) == "endgeneration":
			sb.WriteString(strings.Replace(tag, "endgeneration", "endif", 1))
		default:
			sb.WriteString(rewriteTrim(tag))
		}
		src = src[i+len(tag):]
	}
}

// tagWord is the first word of a {% … %} tag.
func tagWord(tag string) string {
	body := strings.Trim(tag[2:len(tag)-2], "-+ \t\r\n")
	if k := strings.IndexAny(body, " \t\r\n"); k >= 0 {
		body = body[:k]
	}
	return body
}

// rewriteTrim turns every `| trim` filter without arguments inside one tag into
// `| trim(<python whitespace>)`. String literals are skipped.
func rewriteTrim(tag string) string {
	var sb strings.Builder
	var quote byte
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if quote != 0 {
			sb.WriteByte(c)
			if c == '\\' && i+1 < len(tag) {
				i++
				sb.WriteByte(tag[i])
			} else if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
			sb.WriteByte(c)
			continue
		}
		if c == '|' {
			j := i + 1
			for j < len(tag) && (tag[j] == ' ' || tag[j] == '\t' || tag[j] == '\n') {
				j++
			}
			if strings.HasPrefix(tag[j:], "trim") && (j+4 == len(tag) || !isIdentByte(tag[j+4])) {
				k := j + 4
				for k < len(tag) && (tag[k] == ' ' || tag[k] == '\t' || tag[k] == '\n') {
					k++
				}
				if k >= len(tag) || tag[k] != '(' {
					sb.WriteString(tag[i : j+4])
					sb.WriteString("(" + pyWhitespaceVar + ")")
					i = j + 3
					continue
				}
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// jinjaValue converts a Go value for the template context. json.RawMessage values are decoded
// keeping the order of object keys (tojson then writes them in that order, as Python does);
// other maps are passed with sorted keys.
func jinjaValue(v any) (jinja.Value, error) {
	switch x := v.(type) {
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		val, err := decodeJSONValue(dec)
		if err != nil {
			return jinja.Value{}, err
		}
		if _, err := dec.Token(); err != io.EOF {
			return jinja.Value{}, fmt.Errorf("trailing data after JSON value")
		}
		return val, nil
	case jinja.Value:
		return x, nil
	}
	return jinja.FromGoValue(v), nil
}

// decodeJSONValue reads one JSON value from dec into a jinja.Value: objects as ordered dicts,
// integral numbers as ints (Python's json gives int for "1", float for "1.0").
func decodeJSONValue(dec *json.Decoder) (jinja.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return jinja.Value{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := jinja.NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jinja.Value{}, err
				}
				val, err := decodeJSONValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				d.AsDict().Set(kt.(string), val)
			}
			_, err := dec.Token() // '}'
			return d, err
		case '[':
			var items []jinja.Value
			for dec.More() {
				val, err := decodeJSONValue(dec)
				if err != nil {
					return jinja.Value{}, err
				}
				items = append(items, val)
			}
			_, err := dec.Token() // ']'
			return jinja.NewList(items), err
		}
	case string:
		return jinja.NewString(t), nil
	case bool:
		return jinja.NewBool(t), nil
	case nil:
		return jinja.None(), nil
	case json.Number:
		if i, err := t.Int64(); err == nil && !strings.ContainsAny(t.String(), ".eE") {
			return jinja.NewInt(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return jinja.Value{}, err
		}
		return jinja.NewFloat(f), nil
	}
	return jinja.Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}
