package lab

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"

	"github.com/loralab/loralab/pkg/mask"
	"github.com/loralab/loralab/pkg/tokenizer"
)

// Table returns a Markdown table (show it with plot.Markdown). Cells are written as they are.
func Table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// Commas writes n with thousands separators, as PEFT prints parameter counts.
func Commas[T ~int | ~int64](n T) string {
	if n < 0 {
		return "-" + Commas(-n)
	}
	s := fmt.Sprint(int64(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Piece is a token's text made visible: the decoded text (the byte-level piece when the token
// is part of a character), spaces as "·", newlines as "⏎", tabs as "→".
func Piece(tok *tokenizer.Tokenizer, id int32) string {
	s := tok.Decode([]int{int(id)})
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) || s == "" {
		s = tok.Token(int(id))
	}
	return strings.NewReplacer(" ", "·", "\n", "⏎", "\t", "→").Replace(s)
}

const (
	supervisedStyle = "background:#a7e3a0;color:#0b3d0b;font-weight:bold"
	ignoredStyle    = "background:#ececec;color:#8a8a8a"
)

// Legend explains the colors of Tokens.
const Legend = `<div style="margin:4px 0"><span style="` + supervisedStyle + `;padding:1px 6px;border-radius:3px">supervised 监督 (label = input id)</span> ` +
	`<span style="` + ignoredStyle + `;padding:1px 6px;border-radius:3px">-100 ignored 不计损失</span></div>`

// Tokens renders an example token by token as HTML (show it with plot.HTML): green where the
// label is the token (supervised), grey where it is -100. Hovering shows position, id and
// label; withIDs also prints each id under its token.
func Tokens(tok *tokenizer.Tokenizer, ex mask.Example, withIDs bool) string {
	var b strings.Builder
	b.WriteString(`<div style="line-height:2.3;font-family:monospace;font-size:13px">`)
	for i, id := range ex.InputIDs {
		style := ignoredStyle
		if ex.Labels[i] != mask.IgnoreIndex {
			style = supervisedStyle
		}
		fmt.Fprintf(&b, `<span title="pos %d · id %d · label %d" style="%s;border-radius:3px;padding:1px 2px;margin:1px;white-space:pre">%s`,
			i, id, ex.Labels[i], style, html.EscapeString(Piece(tok, id)))
		if withIDs {
			fmt.Fprintf(&b, `<sub style="color:#555;font-weight:normal">%d</sub>`, id)
		}
		b.WriteString("</span>")
	}
	b.WriteString("</div>")
	return b.String()
}
