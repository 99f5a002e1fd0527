package compare

import (
	"io"
	"strings"
	"unicode/utf8"
)

// table is a grid of cells rendered either as aligned plain text or as a
// GitHub-flavoured Markdown table. Text columns are left-aligned, number
// columns right-aligned, as benchstat does.
type table struct {
	header []string
	right  []bool // per column: right-align (numbers)
	rows   [][]string
	// group: in plain text, the first group columns are left blank when they
	// repeat the row above, so each variant/stream/phase is named once.
	group int
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) writeText(w io.Writer, indent string) error {
	width := make([]int, len(t.header))
	measure := func(cells []string) {
		for i, c := range cells {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	measure(t.header)
	for _, r := range t.rows {
		measure(r)
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		l.WriteString(indent)
		for i, c := range cells {
			if i > 0 {
				l.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(t.header)
	var prev []string
	for _, r := range t.rows {
		shown := append([]string(nil), r...)
		for i := 0; i < t.group && prev != nil && r[i] == prev[i]; i++ {
			shown[i] = ""
		}
		line(shown)
		prev = r
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *table) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + markdownCell(c) + " |")
		}
		b.WriteByte('\n')
	}
	line(t.header)
	b.WriteString("|")
	for i := range t.header {
		if t.right[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteByte('\n')
	for _, r := range t.rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownCell keeps a cell inside its table cell and its text literal: a
// pipe would end the cell, a newline the table, and *, _, `, [ or < in a
// name would turn into emphasis, code, links or HTML in a PR comment.
func markdownCell(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return markdownEscaper.Replace(s)
}

var markdownEscaper = strings.NewReplacer(
	"\\", "\\\\", "|", "\\|", "`", "\\`", "*", "\\*", "_", "\\_",
	"[", "\\[", "]", "\\]", "<", "\\<", ">", "\\>",
)
