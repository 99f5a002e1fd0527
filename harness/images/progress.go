package images

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/loadlab/loadlab/harness/statusline"
)

// expectedDebs is how many packages debootstrap fetches for the recipe
// (bookworm minbase with postgresql-15 and redis-server, measured): the
// total of the progress bar until the package cache knows better.
const expectedDebs = 150

// baseProgress shows the Debian base build as one line instead of
// debootstrap's few hundred: packages fetched of the total, then extract,
// install, import. On a terminal it is a bar redrawn in place; elsewhere
// (CI logs) a plain line at each stage and every ten seconds.
//
// It is ours rather than github.com/schollz/progressbar/v3 or
// github.com/vbauerster/mpb/v8: both draw well on a terminal, but neither
// turns into periodic plain lines in a CI log, which is half of the job,
// and a single line needs no multi-bar machinery.
type baseProgress struct {
	line    *statusline.Line
	mu      sync.Mutex
	stage   string
	seen    map[string]bool
	total   int
	started time.Time
}

func newBaseProgress(w io.Writer, debCache string) *baseProgress {
	p := &baseProgress{line: statusline.New(w, 10*time.Second), seen: map[string]bool{}, stage: "resolving packages",
		total: expectedDebs, started: time.Now()}
	if debs, _ := filepath.Glob(filepath.Join(debCache, "*.deb")); len(debs) > 0 {
		p.total = len(debs) // a previous build's packages: the exact count
	}
	return p
}

// debootstrapLine follows debootstrap's "I: ..." lines: Retrieving or
// Validating a package counts it once; Extracting, Installing, Unpacking
// and Configuring are stages.
func (p *baseProgress) debootstrapLine(line string) {
	if p == nil {
		return
	}
	f := strings.Fields(strings.TrimPrefix(line, "I: "))
	switch {
	case len(f) >= 3 && (f[0] == "Retrieving" || f[0] == "Validating"):
		p.update("fetching packages", f[1])
	case len(f) >= 2 && f[0] == "Extracting":
		p.update("extracting", "")
	case len(f) >= 1 && (f[0] == "Installing" || f[0] == "Unpacking" || f[0] == "Configuring"):
		p.update("installing", "")
	}
}

// setStage moves to a later stage (import, build).
func (p *baseProgress) setStage(stage string) {
	if p != nil {
		p.update(stage, "")
	}
}

func (p *baseProgress) update(stage, pkg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := stage != p.stage
	p.stage = stage
	if pkg != "" {
		p.seen[pkg] = true
	}
	n, total := len(p.seen), max(p.total, len(p.seen))
	elapsed := time.Since(p.started).Round(time.Second)
	if p.line.Terminal() {
		const width = 24
		fill := width * n / total
		p.line.Show(fmt.Sprintf("  debian base [%s%s] %d/%d packages  %s  %s",
			strings.Repeat("#", fill), strings.Repeat("-", width-fill), n, total, p.stage, elapsed), changed)
		return
	}
	p.line.Show(fmt.Sprintf("  debian base: %d/%d packages, %s (%s)", n, total, p.stage, elapsed), changed)
}

// done ends the line on a terminal.
func (p *baseProgress) done() {
	if p != nil {
		p.line.Done()
	}
}
