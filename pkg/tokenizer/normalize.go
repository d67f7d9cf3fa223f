package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a piece of text before pre-tokenization. Like the references, it runs
// on each piece between added tokens separately (so Prepend adds one "▁" per piece).
type normalizer interface {
	normalize(s string) string
}

// unicodeNorm is NFC, NFD, NFKC or NFKD.
type unicodeNorm struct{ form norm.Form }

func (n unicodeNorm) normalize(s string) string {
	if n.form.IsNormalString(s) {
		return s
	}
	return n.form.String(s)
}

// prependNorm is HF's "Prepend": a fixed prefix on every non-empty piece.
type prependNorm struct{ prefix string }

func (n prependNorm) normalize(s string) string { return n.prefix + s }

// replaceNorm is HF's "Replace" with a String pattern.
type replaceNorm struct{ old, new string }

func (n replaceNorm) normalize(s string) string { return strings.ReplaceAll(s, n.old, n.new) }

// sequenceNorm applies normalizers in order.
type sequenceNorm []normalizer

func (n sequenceNorm) normalize(s string) string {
	for _, x := range n {
		s = x.normalize(s)
	}
	return s
}

type normalizerJSON struct {
	Type        string            `json:"type"`
	Normalizers []json.RawMessage `json:"normalizers"`
	Prepend     *string           `json:"prepend"`
	Pattern     *patternJSON      `json:"pattern"`
	Content     *string           `json:"content"`
}

// buildNormalizer compiles a normalizer JSON value (nil for none or an empty Sequence).
func buildNormalizer(raw json.RawMessage, where string) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var nj normalizerJSON
	if err := json.Unmarshal(raw, &nj); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	switch nj.Type {
	case "Sequence":
		var seq sequenceNorm
		for i, c := range nj.Normalizers {
			n, err := buildNormalizer(c, fmt.Sprintf("%s.normalizers[%d]", where, i))
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		switch len(seq) {
		case 0:
			return nil, nil
		case 1:
			return seq[0], nil
		}
		return seq, nil
	case "NFC":
		return unicodeNorm{norm.NFC}, nil
	case "NFD":
		return unicodeNorm{norm.NFD}, nil
	case "NFKC":
		return unicodeNorm{norm.NFKC}, nil
	case "NFKD":
		return unicodeNorm{norm.NFKD}, nil
	case "Prepend":
		if nj.Prepend == nil {
			return nil, fmt.Errorf("%s: Prepend without \"prepend\"", where)
		}
		return prependNorm{*nj.Prepend}, nil
	case "Replace":
		old, err := stringPattern(nj.Pattern, where, "Replace")
		if err != nil {
			return nil, err
		}
		if nj.Content == nil {
			return nil, fmt.Errorf("%s: Replace without \"content\"", where)
		}
		return replaceNorm{old, *nj.Content}, nil
	default:
		return nil, fmt.Errorf("%s: normalizer type %q is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Prepend, Replace with a String pattern)", where, nj.Type)
	}
}

// stringPattern returns the literal of a {"String": ...} pattern; Regex patterns of
// Replace steps are refused.
func stringPattern(p *patternJSON, where, kind string) (string, error) {
	switch {
	case p == nil:
		return "", fmt.Errorf("%s: %s without \"pattern\"", where, kind)
	case p.String != nil && *p.String != "":
		return *p.String, nil
	case p.Regex != nil:
		return "", fmt.Errorf("%s: %s with a Regex pattern is not supported (only String patterns are)", where, kind)
	default:
		return "", fmt.Errorf("%s: %s pattern is empty", where, kind)
	}
}
