// Package chat holds conversations (messages with roles) and the chat templates that render
// them into text pieces that keep their role and turn, so that label masks are exact spans.
//
// A checkpoint's own template is the default: LoadTemplate (or ForCheckpoint) reads
// chat_template.jinja or tokenizer_config.json's "chat_template" and renders it with a Go
// Jinja engine, byte for byte as transformers' apply_chat_template does; which characters
// belong to which message is recovered from renderings (spans.go says how, and which
// replies are supervised when a template rewrites earlier turns, as Qwen3's does). The
// built-in templates (Lookup) serve the tiny model and checkpoints without a template;
// ForCheckpoint reports a built-in one that renders differently from the checkpoint's own.
package chat

// Roles of messages, in the OpenAI naming used throughout LoRA Lab.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one message of a conversation.
type Message struct {
	Role    string `json:"role" parquet:"role"`
	Content string `json:"content" parquet:"content"`
}

// Conversation is a multi-turn dialogue with an optional system prompt. Messages hold only
// user and assistant turns; the system prompt lives in System.
type Conversation struct {
	System   string    `json:"system,omitempty" parquet:"system,optional"`
	Messages []Message `json:"messages" parquet:"messages,list"`
}

// SegmentKind tells what a rendered piece of text is.
type SegmentKind int

const (
	// Control is template scaffolding: BOS, role headers, separators. Never supervised,
	// except EndOfTurn pieces that belong to an assistant reply.
	Control SegmentKind = iota
	// Content is the text of a message, to be encoded with special tokens off.
	Content
	// EndOfTurn closes an assistant reply (e.g. "<｜end▁of▁sentence｜>", "<|im_end|>");
	// it is supervised together with the reply it closes.
	EndOfTurn
	// ReplyPrefix is template text the model writes at the start of an assistant reply,
	// after the generation prompt (Qwen3's "<think>\n\n</think>\n\n"): supervised with the
	// reply, encoded like template text (special tokens matched).
	ReplyPrefix
)

// Supervised tells whether a label mask learns the segment: the Content, ReplyPrefix and
// EndOfTurn pieces of assistant messages.
func (s Segment) Supervised() bool {
	return s.Role == RoleAssistant && (s.Kind == Content || s.Kind == EndOfTurn || s.Kind == ReplyPrefix)
}

// Segment is one rendered piece of a conversation. Concatenating the Text of all segments
// gives exactly the string the model's Jinja chat_template renders.
type Segment struct {
	Text string
	Kind SegmentKind
	// Role of the message this piece belongs to ("system", "user", "assistant"), or "" for
	// pieces that belong to no message (BOS, generation prompt).
	Role string
	// Turn is the 0-based index of the user/assistant exchange this piece belongs to
	// (the k-th assistant reply has Turn k), or -1 for pieces before the first turn.
	Turn int
}
