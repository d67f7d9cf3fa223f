// Package data reads and writes multi-turn conversation datasets: Parquet (the primary
// format, in the OpenAI "messages" or ShareGPT "conversations" schema, read one row group
// at a time), JSON/JSONL import (OpenAI, ShareGPT and Alpaca records), validation for
// supervised fine-tuning with per-reason skip reports, placeholder substitution, and
// deterministic train/validation splits.
//
// Rows become chat.Conversation values: role names are normalized ("human" → "user",
// "gpt" → "assistant"), a leading system message becomes Conversation.System, and any other
// role is kept as found so that Validate can name it.
package data

import (
	"strings"

	"github.com/loralab/loralab/pkg/chat"
)

// NormalizeRole maps the role names of the common dataset formats to LoRA Lab's OpenAI
// naming: "human"/"user" → "user", "gpt"/"assistant" → "assistant", "system" → "system"
// (case-insensitive, surrounding spaces ignored). Other roles are returned unchanged, to be
// reported by Validate.
func NormalizeRole(role string) string {
	switch strings.ToLower(strings.TrimSpace(role)) {
	case "human", "user":
		return chat.RoleUser
	case "gpt", "assistant":
		return chat.RoleAssistant
	case "system":
		return chat.RoleSystem
	}
	return role
}

// Normalize builds a Conversation from a system prompt (possibly empty) and raw messages:
// roles are normalized with NormalizeRole and, when system is empty, a leading system
// message becomes the system prompt (a leading system message equal to system is dropped as
// a duplicate). Later or additional system messages stay in Messages, where Validate
// rejects them.
func Normalize(system string, msgs []chat.Message) chat.Conversation {
	conv := chat.Conversation{System: system}
	if len(msgs) > 0 {
		conv.Messages = make([]chat.Message, 0, len(msgs))
	}
	for i, m := range msgs {
		role := NormalizeRole(m.Role)
		if i == 0 && role == chat.RoleSystem && (conv.System == "" || conv.System == m.Content) {
			conv.System = m.Content
			continue
		}
		conv.Messages = append(conv.Messages, chat.Message{Role: role, Content: m.Content})
	}
	return conv
}
