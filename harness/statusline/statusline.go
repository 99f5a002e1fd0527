// Package statusline writes one status line for long work: on a terminal
// it is redrawn in place; elsewhere (a CI log) it becomes plain lines,
// printed at most once per interval unless the caller forces one (a new
// stage), so a log shows progress without a line per update.
package statusline

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Line is one status line. Its methods are safe for concurrent use and do
// nothing when it writes to nothing.
type Line struct {
	w     io.Writer
	tty   bool
	every time.Duration
	mu    sync.Mutex
	last  time.Time // when a plain line was last printed
	drawn bool      // a line is drawn on the terminal and not yet ended
}

// New returns a line on w that prints a plain line at most every interval
// when w is not a terminal. w may be nil.
func New(w io.Writer, every time.Duration) *Line {
	l := &Line{w: w, every: every}
	if f, ok := w.(*os.File); ok {
		l.tty = term.IsTerminal(int(f.Fd()))
	}
	return l
}

// Terminal reports whether the line is redrawn in place, so a caller can
// draw a bar there and write words in a log.
func (l *Line) Terminal() bool { return l.tty }

// Show shows text: on a terminal it replaces the line; elsewhere it is
// printed when force is set or the interval has passed since the last.
func (l *Line) Show(text string, force bool) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tty {
		fmt.Fprintf(l.w, "\r\033[K%s", text)
		l.drawn = true
		return
	}
	if force || time.Since(l.last) >= l.every {
		fmt.Fprintln(l.w, text)
		l.last = time.Now()
	}
}

// Done ends a line drawn on a terminal, so that what follows starts on a
// line of its own.
func (l *Line) Done() {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprintln(l.w)
		l.drawn = false
	}
}
