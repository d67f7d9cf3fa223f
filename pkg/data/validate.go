package data

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/loralab/loralab/pkg/chat"
)

// Reasons a conversation is rejected by Validate. Unknown roles are reported as
// `unknown role "<name>"`, so each unknown role is counted separately.
const (
	ReasonNoMessages      = "no messages"
	ReasonEmptyContent    = "empty content"
	ReasonMisplacedSystem = "system message after the start"
	ReasonNotAlternating  = "roles do not alternate user/assistant"
	ReasonNoFinalReply    = "does not end with an assistant reply"
	ReasonUnknownRole     = "unknown role" // followed by the quoted role name
	ReasonBadRecord       = "unrecognized record"
)

// InvalidError says why a conversation is not a valid SFT example, and where.
type InvalidError struct {
	// Row is the 0-based row (record) index in its file, or -1 when unknown.
	Row int
	// Message is the 0-based index in Conversation.Messages, or -1 when the problem is
	// not one message's.
	Message int
	// Reason is the category used as key of Report.Skipped (one of the Reason* constants,
	// or `unknown role "x"`).
	Reason string
	// Detail adds specifics to Reason (may be empty).
	Detail string
}

// Error formats as `row 17: message 3: unknown role "observation"`.
func (e *InvalidError) Error() string {
	var sb strings.Builder
	if e.Row >= 0 {
		fmt.Fprintf(&sb, "row %d: ", e.Row)
	}
	if e.Message >= 0 {
		fmt.Fprintf(&sb, "message %d: ", e.Message)
	}
	sb.WriteString(e.Reason)
	if e.Detail != "" {
		sb.WriteString(" (")
		sb.WriteString(e.Detail)
		sb.WriteString(")")
	}
	return sb.String()
}

// Validate checks that conv is a supervised fine-tuning example: at least one message,
// roles user/assistant alternating from a user message (the system prompt lives in
// conv.System), no empty or whitespace-only content, and a final assistant reply. It
// returns nil or an *InvalidError with Row -1 for the first problem found.
func Validate(conv chat.Conversation) error {
	if len(conv.Messages) == 0 {
		return &InvalidError{Row: -1, Message: -1, Reason: ReasonNoMessages}
	}
	// Unknown roles first: they say more about the row than the alternation they break.
	for i, m := range conv.Messages {
		switch m.Role {
		case chat.RoleUser, chat.RoleAssistant:
		case chat.RoleSystem:
			return &InvalidError{Row: -1, Message: i, Reason: ReasonMisplacedSystem}
		default:
			return &InvalidError{Row: -1, Message: i, Reason: fmt.Sprintf("%s %q", ReasonUnknownRole, m.Role)}
		}
	}
	for i, m := range conv.Messages {
		want := chat.RoleUser
		if i%2 == 1 {
			want = chat.RoleAssistant
		}
		if m.Role != want {
			return &InvalidError{Row: -1, Message: i, Reason: ReasonNotAlternating,
				Detail: fmt.Sprintf("want %s, got %s", want, m.Role)}
		}
		if strings.TrimSpace(m.Content) == "" {
			return &InvalidError{Row: -1, Message: i, Reason: ReasonEmptyContent}
		}
	}
	if last := conv.Messages[len(conv.Messages)-1]; last.Role != chat.RoleAssistant {
		return &InvalidError{Row: -1, Message: len(conv.Messages) - 1, Reason: ReasonNoFinalReply}
	}
	return nil
}

// atRow returns err with its row set (wrapping non-InvalidErrors as bad records).
func atRow(row int, err error) *InvalidError {
	var ie *InvalidError
	if errors.As(err, &ie) {
		c := *ie
		c.Row = row
		return &c
	}
	return &InvalidError{Row: row, Message: -1, Reason: ReasonBadRecord, Detail: err.Error()}
}

// Report counts what a reading or cleaning pass kept and skipped.
type Report struct {
	// Read is the number of rows (records) seen.
	Read int
	// Kept is the number of rows that passed validation.
	Kept int
	// Skipped counts rejected rows per reason (InvalidError.Reason).
	Skipped map[string]int
	// Examples holds, per reason, the error message of the first row rejected for it.
	Examples map[string]string
	// Formats counts rows per detected input format ("openai", "sharegpt", "alpaca",
	// "parquet-openai", "parquet-sharegpt").
	Formats map[string]int
}

// NumSkipped is the total number of rejected rows.
func (r *Report) NumSkipped() int {
	n := 0
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

// skip records a rejected row.
func (r *Report) skip(e *InvalidError) {
	if r.Skipped == nil {
		r.Skipped = map[string]int{}
		r.Examples = map[string]string{}
	}
	r.Skipped[e.Reason]++
	if _, ok := r.Examples[e.Reason]; !ok {
		r.Examples[e.Reason] = e.Error()
	}
}

func (r *Report) format(name string) {
	if r.Formats == nil {
		r.Formats = map[string]int{}
	}
	r.Formats[name]++
}

// String summarizes the report on a few lines, reasons sorted by count.
func (r *Report) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "read %d, kept %d, skipped %d", r.Read, r.Kept, r.NumSkipped())
	reasons := make([]string, 0, len(r.Skipped))
	for k := range r.Skipped {
		reasons = append(reasons, k)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if r.Skipped[reasons[i]] != r.Skipped[reasons[j]] {
			return r.Skipped[reasons[i]] > r.Skipped[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for _, k := range reasons {
		fmt.Fprintf(&sb, "\n  %6d  %s  e.g. %s", r.Skipped[k], k, r.Examples[k])
	}
	return sb.String()
}

// Clean validates convs (row i is convs[i]) and returns the valid ones, in order, with a
// report of what was skipped and why.
func Clean(convs []chat.Conversation) ([]chat.Conversation, Report) {
	var rep Report
	kept := make([]chat.Conversation, 0, len(convs))
	for i, c := range convs {
		rep.Read++
		if err := Validate(c); err != nil {
			rep.skip(atRow(i, err))
			continue
		}
		rep.Kept++
		kept = append(kept, c)
	}
	return kept, rep
}

// CheckAll validates convs and returns the first problem as an error naming its row
// (strict mode), or nil.
func CheckAll(convs []chat.Conversation) error {
	for i, c := range convs {
		if err := Validate(c); err != nil {
			return atRow(i, err)
		}
	}
	return nil
}
