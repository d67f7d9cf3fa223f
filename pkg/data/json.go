package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/loralab/loralab/pkg/chat"
)

// ImportJSON reads a JSON array or JSONL file of conversation records, detecting each
// record's format:
//
//   - OpenAI:   {"messages": [{"role": "user", "content": "…"}, …], "system"?: "…"}
//   - ShareGPT: {"conversations": [{"from": "human", "value": "…"}, …], "system"?: "…"}
//   - Alpaca:   {"instruction": "…", "input"?: "…", "output": "…", "system"?: "…",
//     "history"?: [["q", "a"], …]}, one turn after the history turns; the user message is
//     instruction and input joined by "\n" when input is not empty (LLaMA-Factory's rule).
//
// Records that fail Validate, or that fit no format, are skipped and counted in the
// Report (row = 0-based record index). A file that is not JSON is an error.
func ImportJSON(path string) ([]chat.Conversation, Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Report{}, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	convs, rep, err := ParseJSON(f)
	if err != nil {
		return nil, rep, fmt.Errorf("data: %s: %w", path, err)
	}
	return convs, rep, nil
}

// ParseJSON is ImportJSON on a reader.
func ParseJSON(r io.Reader) ([]chat.Conversation, Report, error) {
	var convs []chat.Conversation
	rep, err := ScanJSON(r, func(_ int, c chat.Conversation) error {
		convs = append(convs, c)
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	return convs, rep, nil
}

// ScanJSON decodes JSON/JSONL conversation records one at a time (see ImportJSON), calling
// keep for every valid one with its 0-based row; invalid records are counted in the Report.
// An error from keep stops the scan and is returned.
func ScanJSON(r io.Reader, keep func(row int, conv chat.Conversation) error) (Report, error) {
	var rep Report
	add := func(row int, raw json.RawMessage) error {
		rep.Read++
		conv, format, err := decodeRecord(raw)
		if err == nil {
			rep.format(format)
			err = Validate(conv)
		}
		if err != nil {
			rep.skip(atRow(row, err))
			return nil
		}
		rep.Kept++
		return keep(row, conv)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := firstNonSpace(br)
	if err != nil {
		return rep, err
	}
	dec := json.NewDecoder(br)
	switch first {
	case '[':
		if _, err := dec.Token(); err != nil {
			return rep, err
		}
		for row := 0; dec.More(); row++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return rep, fmt.Errorf("record %d: %w", row, err)
			}
			if err := add(row, raw); err != nil {
				return rep, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return rep, fmt.Errorf("after record %d: %w", rep.Read, err)
		}
	case '{':
		for row := 0; ; row++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				return rep, fmt.Errorf("record %d: %w", row, err)
			}
			if err := add(row, raw); err != nil {
				return rep, err
			}
		}
	default:
		return rep, fmt.Errorf("not JSON or JSONL (starts with %q)", first)
	}
	return rep, nil
}

// ImportJSONToParquet converts a JSON/JSONL conversation file (see ImportJSON) into a
// Parquet file in the OpenAI schema, streaming: records are written as they are decoded.
// vars, if not nil, fills {{key}} placeholders (see ReplacePlaceholders). The Parquet file
// appears only if the whole conversion succeeds.
func ImportJSONToParquet(jsonPath, parquetPath string, vars map[string]string) (Report, error) {
	f, err := os.Open(jsonPath)
	if err != nil {
		return Report{}, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	w, err := NewParquetWriter(parquetPath, WriterOptions{})
	if err != nil {
		return Report{}, err
	}
	one := make([]chat.Conversation, 1)
	rep, err := ScanJSON(f, func(_ int, c chat.Conversation) error {
		if vars != nil {
			one[0] = c
			ReplacePlaceholders(one, vars)
			c = one[0]
		}
		return w.Write(c)
	})
	if err != nil {
		w.Abort()
		return rep, fmt.Errorf("data: %s: %w", jsonPath, err)
	}
	return rep, w.Close()
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF {
				return 0, fmt.Errorf("empty input")
			}
			return 0, err
		}
		// Skip whitespace and a UTF-8 byte order mark.
		if b == ' ' || b == '\n' || b == '\r' || b == '\t' {
			continue
		}
		if b == 0xEF {
			if bom, _ := br.Peek(2); bytes.Equal(bom, []byte{0xBB, 0xBF}) {
				br.Discard(2)
				continue
			}
		}
		return b, br.UnreadByte()
	}
}

// jsonMessage accepts both {"role","content"} and {"from","value"} keys.
type jsonMessage struct {
	Role    *string         `json:"role"`
	From    *string         `json:"from"`
	Content json.RawMessage `json:"content"`
	Value   json.RawMessage `json:"value"`
}

type jsonRecord struct {
	Messages      []jsonMessage   `json:"messages"`
	Conversations []jsonMessage   `json:"conversations"`
	System        json.RawMessage `json:"system"`
	Instruction   *string         `json:"instruction"`
	Input         *string         `json:"input"`
	Output        *string         `json:"output"`
	History       [][]string      `json:"history"`
}

// decodeRecord turns one JSON record into a normalized Conversation and names its format.
func decodeRecord(raw json.RawMessage) (chat.Conversation, string, error) {
	var rec jsonRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return chat.Conversation{}, "", &InvalidError{Row: -1, Message: -1, Reason: ReasonBadRecord, Detail: err.Error()}
	}
	system, err := textOf(rec.System)
	if err != nil {
		return chat.Conversation{}, "", &InvalidError{Row: -1, Message: -1, Reason: ReasonBadRecord, Detail: "system: " + err.Error()}
	}
	var list []jsonMessage
	var format string
	switch {
	case rec.Messages != nil:
		list, format = rec.Messages, "openai"
	case rec.Conversations != nil:
		list, format = rec.Conversations, "sharegpt"
	case rec.Instruction != nil && rec.Output != nil:
		var msgs []chat.Message
		for i, h := range rec.History {
			if len(h) != 2 {
				return chat.Conversation{}, "", &InvalidError{Row: -1, Message: -1, Reason: ReasonBadRecord,
					Detail: fmt.Sprintf("history[%d] has %d items, want [query, response]", i, len(h))}
			}
			msgs = append(msgs, chat.Message{Role: chat.RoleUser, Content: h[0]}, chat.Message{Role: chat.RoleAssistant, Content: h[1]})
		}
		q := *rec.Instruction
		if rec.Input != nil && *rec.Input != "" {
			q += "\n" + *rec.Input
		}
		msgs = append(msgs, chat.Message{Role: chat.RoleUser, Content: q}, chat.Message{Role: chat.RoleAssistant, Content: *rec.Output})
		return chat.Conversation{System: system, Messages: msgs}, "alpaca", nil
	default:
		return chat.Conversation{}, "", &InvalidError{Row: -1, Message: -1, Reason: ReasonBadRecord,
			Detail: "no messages, conversations or instruction/output fields"}
	}
	msgs := make([]chat.Message, len(list))
	for i, m := range list {
		role := m.Role
		if role == nil {
			role = m.From
		}
		if role == nil {
			return chat.Conversation{}, "", &InvalidError{Row: -1, Message: i, Reason: ReasonBadRecord, Detail: "message has no role/from"}
		}
		content := m.Content
		if content == nil {
			content = m.Value
		}
		text, err := textOf(content)
		if err != nil {
			return chat.Conversation{}, "", &InvalidError{Row: -1, Message: i, Reason: ReasonBadRecord, Detail: "content: " + err.Error()}
		}
		msgs[i] = chat.Message{Role: *role, Content: text}
	}
	return Normalize(system, msgs), format, nil
}

// textOf decodes a JSON string or null ("" for absent/null); other types are errors.
func textOf(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("not a string")
	}
	return s, nil
}

// ReplacePlaceholders substitutes "{{key}}" with vars[key] in every system prompt and
// message of convs, in place (LLaMA-Factory's identity.json uses {{name}} and {{author}}).
// It returns the number of substitutions made.
func ReplacePlaceholders(convs []chat.Conversation, vars map[string]string) int {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic replacer
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, "{{"+k+"}}", vars[k])
	}
	if len(pairs) == 0 {
		return 0
	}
	rep := strings.NewReplacer(pairs...)
	count := func(s string) int {
		n := 0
		for _, k := range keys {
			n += strings.Count(s, "{{"+k+"}}")
		}
		return n
	}
	n := 0
	for i := range convs {
		c := &convs[i]
		if k := count(c.System); k > 0 {
			n += k
			c.System = rep.Replace(c.System)
		}
		for j := range c.Messages {
			m := &c.Messages[j]
			if k := count(m.Content); k > 0 {
				n += k
				m.Content = rep.Replace(m.Content)
			}
		}
	}
	return n
}
