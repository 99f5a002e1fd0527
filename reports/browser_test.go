package reports

// The pages as a browser shows them (issue 15, item 6): each page opened
// from disk in headless Chromium, at desktop and at phone width. The HTML
// tests parse the markup; only a browser tells whether the charts draw,
// whether the page reaches for the network, and whether a phone has to
// scroll sideways to read it.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// requireBrowserEnv set to 1 turns a missing Chromium from a skip into a
// failure: CI installs it, so there a skip would hide a lost test.
const requireBrowserEnv = "LOADLAB_REQUIRE_BROWSER"

// browserNames are the names Chromium goes by on PATH: Debian's package,
// Ubuntu's and Google's builds.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome"}

const (
	// pageBudget bounds one page's whole visit: the browser's start, two
	// layouts and two full-page screenshots. A hung browser fails the test
	// here instead of at go test's timeout.
	pageBudget = 2 * time.Minute
	// stepTimeout bounds each step; generous because the machine may be
	// busy with a calibration on both cores.
	stepTimeout = 30 * time.Second
	// minFontPx is the smallest body text that reads on a phone without
	// zooming (Lighthouse's legible-font-size audit uses the same 12 px).
	minFontPx = 12
)

// viewport is a window the page is laid out in.
type viewport struct {
	Name          string
	Width, Height int64
	Scale         float64 // device pixels per CSS pixel
	Mobile        bool    // honour the page's meta viewport, as a phone does
}

var (
	desktopViewport = viewport{Name: "desktop", Width: 1280, Height: 900, Scale: 1}
	phoneViewport   = viewport{Name: "phone", Width: 390, Height: 844, Scale: 3, Mobile: true} // a current iPhone's CSS viewport
)

func TestReportInBrowser(t *testing.T) {
	dir := t.TempDir()
	if err := Render(context.Background(), fixture(), dir); err != nil {
		t.Fatal(err)
	}
	page := checkPageInBrowser(t, filepath.Join(dir, HTMLFile))
	if page.SVGs == 0 {
		t.Error("report.html shows no chart")
	}
}

func TestComparePageInBrowser(t *testing.T) {
	path := filepath.Join(t.TempDir(), CompareHTMLFile)
	if err := os.WriteFile(path, compareFixturePage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if page := checkPageInBrowser(t, path); page.SVGs == 0 {
		t.Error("compare.html shows no chart")
	}
}

// TestBrowserCheckCatchesBrokenPage shows that each check can fail: a page
// that breaks every rule gets every problem named. Without it, a check that
// could never fail would look just like a page that passes.
func TestBrowserCheckCatchesBrokenPage(t *testing.T) {
	exe := chromiumPath(t)
	path := filepath.Join(t.TempDir(), "broken.html")
	// The outside request goes to 127.0.0.1:9 (discard), which stays on
	// this machine should the blocking ever fail, and which Chromium itself
	// refuses as an unsafe port.
	const broken = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-size:10px}</style></head>
<body>
<img src="missing.png" alt="">
<img src="http://127.0.0.1:9/beacon.png" alt="">
<svg id="empty" width="0" height="10"></svg>
<div id="wide" style="width:1500px">wide</div>
<script>console.error("boom")</script>
<script>throw new Error("kaboom")</script>
</body></html>`
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	page, err := inspectPage(t.Context(), exe, path, t.ArtifactDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("problems found:\n%s", strings.Join(page.Problems, "\n"))
	for _, want := range []string{
		"image missing.png did not load",
		"request leaves the file: http://127.0.0.1:9/beacon.png",
		"failed to load file://", // missing.png, from the network events
		"svg#empty has an empty box",
		`console.error: "boom"`,
		"uncaught exception: Uncaught Error: kaboom",
		"phone: page is 1508 px wide in a 390 px window",
		"div#wide",
		"phone: body text is 10 px",
	} {
		if !containsSubstring(page.Problems, want) {
			t.Errorf("no problem mentions %q; got:\n%s", want, strings.Join(page.Problems, "\n"))
		}
	}
	// Blocked by the browser, the beacon never fails on its own (a refused
	// connection would): the request was reported and never sent.
	if containsSubstring(page.Problems, "failed to load http://127.0.0.1:9") {
		t.Error("the request to 127.0.0.1:9 was sent, not blocked")
	}
}

func containsSubstring(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// checkPageInBrowser opens the page at path in headless Chromium and fails
// the test for every problem a reader would meet: an image or chart that
// does not draw, a console error or uncaught exception, a request beyond
// the file itself (file: and data: only), sideways scrolling at desktop or
// phone width, or body text under 12 px. Screenshots at desktop and phone width
// go to the test's artifact directory (kept with go test -artifacts). It
// skips without Chromium, or fails under LOADLAB_REQUIRE_BROWSER=1.
func checkPageInBrowser(t *testing.T, path string) pageFacts {
	t.Helper()
	exe := chromiumPath(t)
	page, err := inspectPage(t.Context(), exe, path, t.ArtifactDir())
	if err != nil {
		t.Fatalf("%s in Chromium: %v", filepath.Base(path), err)
	}
	for _, p := range page.Problems {
		t.Errorf("%s: %s", filepath.Base(path), p)
	}
	t.Logf("%s: %d images, %d inline SVGs; screenshots %s", filepath.Base(path), page.Images, page.SVGs, strings.Join(page.Screenshots, ", "))
	return page
}

// chromiumPath finds Chromium on PATH, or skips the test saying how to
// install it (fails instead under LOADLAB_REQUIRE_BROWSER=1).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range browserNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("no Chromium on PATH (looked for %s): install it with `apt-get install chromium`", strings.Join(browserNames, ", "))
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatalf("%s (%s=1 requires it)", msg, requireBrowserEnv)
	}
	t.Skip(msg)
	return ""
}

// pageFacts is what a visit found: counts for the caller's own assertions,
// every problem in words, and where the screenshots went.
type pageFacts struct {
	Images, SVGs int
	Problems     []string
	Screenshots  []string
}

// inspectPage visits the page in a browser of its own: laid out at desktop
// width, then at phone width, measured and photographed at each. It returns
// an error only when the browser could not do its part; what is wrong with
// the page is in the facts' Problems.
func inspectPage(parent context.Context, exe, path, shotDir string) (pageFacts, error) {
	var facts pageFacts
	abs, err := filepath.Abs(path)
	if err != nil {
		return facts, fmt.Errorf("page path: %w", err)
	}
	ctx, cancel := context.WithTimeout(parent, pageBudget)
	defer cancel()
	tab, closeBrowser := startBrowser(ctx, exe)
	defer closeBrowser()

	events := &pageEvents{urls: map[network.RequestID]string{}}
	// The first call starts the browser, so it runs under the page's budget
	// rather than a step's deadline: a step's end would end the browser.
	if err := chromedp.Listen(tab, events.record); err != nil {
		return facts, fmt.Errorf("start %s: %w", exe, err)
	}
	if _, err := within(tab, "block requests beyond the file", blockNetwork()); err != nil {
		return facts, err
	}
	if _, err := within(tab, "lay out at desktop width", emulate(desktopViewport)); err != nil {
		return facts, err
	}
	if _, err := within(tab, "open "+abs, chromedp.Navigate(fileURL(abs))); err != nil {
		return facts, err
	}
	if _, err := within(tab, "wait until the page and its images are loaded", chromedp.Poll[chromedp.Void](pageLoadedJS, chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		return facts, err
	}
	base := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
	for _, vp := range []viewport{desktopViewport, phoneViewport} {
		l, err := layOut(tab, vp)
		if err != nil {
			return facts, err
		}
		facts.Images, facts.SVGs = l.Images, l.SVGs
		facts.Problems = append(facts.Problems, l.problems(vp)...)
		shot, err := within(tab, vp.Name+" screenshot", chromedp.FullScreenshot(100))
		if err != nil {
			return facts, err
		}
		name := filepath.Join(shotDir, base+"-"+vp.Name+".png")
		if err := os.WriteFile(name, shot, 0o644); err != nil {
			return facts, fmt.Errorf("write screenshot: %w", err)
		}
		facts.Screenshots = append(facts.Screenshots, name)
	}
	facts.Problems = append(events.seen(), facts.Problems...)
	return facts, nil
}

// startBrowser prepares a headless Chromium for one page; it starts at the
// first action on the returned context. Chromium refuses to run as root
// with its sandbox, and CI runs as root in a container: the page is our
// own file with the network blocked, so the sandbox has little to guard.
func startBrowser(ctx context.Context, exe string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	return tab, func() {
		cancelTab()
		cancelAlloc()
	}
}

// within runs one step under its own deadline and names it in the error.
func within[T any](tab context.Context, step string, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		return v, fmt.Errorf("%s: %w", step, err)
	}
	return v, nil
}

func fileURL(abs string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// blockNetwork makes the browser refuse every request to a server, so a
// page that regresses to loading something from outside fails the test
// (the request is still reported) without sending anything off the machine.
func blockNetwork() chromedp.Action[chromedp.Void] {
	var patterns []*network.BlockPattern
	for _, scheme := range []string{"http", "https", "ws", "wss", "ftp"} {
		patterns = append(patterns, &network.BlockPattern{URLPattern: scheme + "://*:*/*", Block: true})
	}
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
		return err
	})
}

func emulate(vp viewport) chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.Scale)}
	if vp.Mobile {
		opts = append(opts, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	return chromedp.EmulateViewport(vp.Width, vp.Height, opts...)
}

// layOut switches the tab to the viewport, waits until the page is laid out
// at its width, and measures it.
func layOut(tab context.Context, vp viewport) (layout, error) {
	if _, err := within(tab, "switch to "+vp.Name+" width", emulate(vp)); err != nil {
		return layout{}, err
	}
	// The root's client width is the layout viewport's: the new width has
	// taken effect when it matches, whatever the content does.
	ready := fmt.Sprintf("document.documentElement.clientWidth === %d", vp.Width)
	if _, err := within(tab, "wait for the "+vp.Name+" layout", chromedp.Poll[chromedp.Void](ready, chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		return layout{}, err
	}
	return within(tab, "measure the "+vp.Name+" layout", chromedp.Evaluate[layout](measureJS))
}

// pageLoadedJS is true once the document and every image in it are loaded
// (an image that failed counts as done: the measurement names it).
const pageLoadedJS = `document.readyState === "complete" && Array.from(document.images).every(i => i.complete)`

// layout is what measureJS reports of the page at one width.
type layout struct {
	Images       int      `json:"images"`
	BrokenImages []string `json:"brokenImages"`
	SVGs         int      `json:"svgs"`
	EmptySVGs    []string `json:"emptySVGs"`
	ScrollWidth  float64  `json:"scrollWidth"`
	InnerWidth   float64  `json:"innerWidth"`
	Overflowing  []string `json:"overflowing"`
	BodyFontPx   float64  `json:"bodyFontPx"`
}

// measureJS measures the laid-out page. Overflowing lists the outermost
// elements that reach past the window's right edge, skipping what is
// inside a box that scrolls or clips on its own (a wide table in its own
// scroller is fine): they are what to fix when the page scrolls sideways.
const measureJS = `(() => {
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const cls = el.getAttribute("class");
    if (cls) s += "." + cls.trim().split(/\s+/).join(".");
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return text ? s + " \"" + text + "\"" : s;
  };
  const width = document.documentElement.clientWidth;
  const overflowing = [];
  const walk = el => {
    for (const child of el.children) {
      const r = child.getBoundingClientRect();
      if (r.right > width + 0.5) {
        overflowing.push(describe(child) + " (right edge at " + Math.round(r.right) + " px)");
        continue;
      }
      if (getComputedStyle(child).overflowX === "visible") walk(child);
    }
  };
  walk(document.body);
  const images = Array.from(document.images);
  const svgs = Array.from(document.querySelectorAll("svg")).filter(s => !s.parentElement.closest("svg"));
  return {
    images: images.length,
    brokenImages: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute("src") || describe(i)),
    svgs: svgs.length,
    emptySVGs: svgs.filter(s => { const r = s.getBoundingClientRect(); return r.width === 0 || r.height === 0; }).map(describe),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    overflowing: overflowing.slice(0, 8),
    bodyFontPx: parseFloat(getComputedStyle(document.body).fontSize),
  };
})()`

// problems says, in words, what is wrong with the page at this viewport.
func (l layout) problems(vp viewport) []string {
	var out []string
	for _, src := range l.BrokenImages {
		out = append(out, fmt.Sprintf("%s: image %s did not load", vp.Name, src))
	}
	for _, svg := range l.EmptySVGs {
		out = append(out, fmt.Sprintf("%s: %s has an empty box", vp.Name, svg))
	}
	// The emulated width, not only innerWidth: a mobile browser may widen
	// its window to fit content that overflows.
	if window := min(l.InnerWidth, float64(vp.Width)); l.ScrollWidth > window {
		out = append(out, fmt.Sprintf("%s: page is %.0f px wide in a %.0f px window, so it scrolls sideways; sticking out: %s",
			vp.Name, l.ScrollWidth, window, strings.Join(l.Overflowing, "; ")))
	}
	if l.BodyFontPx < minFontPx {
		out = append(out, fmt.Sprintf("%s: body text is %g px, under %d px", vp.Name, l.BodyFontPx, minFontPx))
	}
	return out
}

// pageEvents collects, as the browser reports them, what a self-contained
// page must not do: request anything beyond file: and data: URLs, fail a
// load, log a console error or throw an uncaught exception. record runs on
// chromedp's event loop, so it only notes things down.
type pageEvents struct {
	mu       sync.Mutex
	urls     map[network.RequestID]string
	problems []string
}

func (e *pageEvents) record(ev any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		u := ev.Request.URL
		e.urls[ev.RequestID] = u
		if !staysInFile(u) {
			e.add("request leaves the file: %s", u)
		}
	case *network.EventLoadingFailed:
		if ev.BlockedReason != network.BlockedReasonInspector { // blocked by us: already reported as leaving
			e.add("failed to load %s: %s", e.urls[ev.RequestID], ev.ErrorText)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			e.add("console.%s: %s", ev.Type, consoleArgs(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		e.add("uncaught exception: %s", exceptionText(ev.ExceptionDetails))
	case *log.EventEntryAdded:
		// The browser's own errors (a failed resource, a blocked request, a
		// security violation): console errors that no script logged.
		if en := ev.Entry; en.Level == log.EntryLevelError && en.Source != log.EntrySourceNetwork {
			e.add("console error (%s): %s %s", en.Source, en.Text, en.URL)
		}
	}
}

func (e *pageEvents) add(format string, args ...any) {
	e.problems = append(e.problems, fmt.Sprintf(format, args...))
}

func (e *pageEvents) seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.problems...)
}

func staysInFile(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && (u.Scheme == "file" || u.Scheme == "data")
}

func consoleArgs(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		first, _, _ := strings.Cut(d.Exception.Description, "\n") // the message, without the stack
		text += " " + first
	}
	return fmt.Sprintf("%s at %s:%d:%d", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}
