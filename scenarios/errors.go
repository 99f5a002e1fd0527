package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// maxReported is how many errors a parse reports; the rest are counted.
// A file with more problems than this is usually the wrong file, and a
// screenful of errors is already more than anyone reads.
const maxReported = 20

// Error is one problem in a scenario file, at a position and a field.
type Error struct {
	File  string
	Line  int    // 1-based; always set
	Col   int    // 1-based; 0 when unknown
	Field string // dotted path, e.g. "faults[0].at"; empty for the file as a whole
	Msg   string
}

// Error formats the problem as FILE:LINE:COL: FIELD: message, the form
// editors and terminals turn into a link to the place.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	fmt.Fprintf(&b, ":%d", e.Line)
	if e.Col > 0 {
		fmt.Fprintf(&b, ":%d", e.Col)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, sorted by position.
type Errors struct {
	List    []*Error
	Omitted int // problems found beyond the ones listed
}

// Error lists the problems, one a line.
func (e *Errors) Error() string {
	lines := make([]string, 0, len(e.List)+1)
	for _, x := range e.List {
		lines = append(lines, x.Error())
	}
	if e.Omitted > 0 {
		lines = append(lines, fmt.Sprintf("... and %d more errors", e.Omitted))
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the single errors to errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, x := range e.List {
		errs[i] = x
	}
	return errs
}

// collector gathers the errors of one parse.
type collector struct {
	file    string
	errs    []*Error
	dropped int
}

// count is how many problems were found so far; a helper compares counts
// before and after decoding an entry to learn whether the entry was good.
func (c *collector) count() int { return len(c.errs) + c.dropped }

func (c *collector) add(line, col int, field, format string, args ...any) {
	if line < 1 {
		line, col = 1, 0
	}
	// Keep a bounded number even for pathological input (a list of a
	// million bad entries); sorting then picks the first by position.
	if len(c.errs) >= 10*maxReported {
		c.dropped++
		return
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Col: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors as *Errors, or nil when there are none.
func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	list := slices.Clone(c.errs)
	slices.SortStableFunc(list, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	list = slices.CompactFunc(list, func(a, b *Error) bool { return *a == *b })
	out := &Errors{List: list, Omitted: c.dropped}
	if len(list) > maxReported {
		out.List, out.Omitted = list[:maxReported], len(list)-maxReported+c.dropped
	}
	return out
}
