package statusline

import (
	"bytes"
	"testing"
	"time"
)

// In a log (not a terminal) the first line prints, later ones only when
// forced or once the interval has passed, and Done adds nothing.
func TestLogLines(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, time.Hour)
	if l.Terminal() {
		t.Fatal("a buffer is not a terminal")
	}
	l.Show("one", false)
	l.Show("two", false)  // within the interval: dropped
	l.Show("stage", true) // forced: printed
	l.Done()
	if got, want := buf.String(), "one\nstage\n"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
}

func TestNilWriter(t *testing.T) {
	l := New(nil, time.Second)
	l.Show("nothing", true)
	l.Done()
}
