package metrics

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/loadlab/loadlab/reports/results"
)

// DefaultInterval is the time between two scrapes.
const DefaultInterval = time.Second

// maxBody bounds one scrape's body; a real /metrics page is a few KiB.
const maxBody = 16 << 20

// Option configures a Scraper.
type Option func(*Scraper)

// WithInterval sets the time between scrapes (default 1s).
func WithInterval(d time.Duration) Option {
	return func(s *Scraper) {
		if d > 0 {
			s.interval = d
		}
	}
}

// WithTimeout bounds one scrape (default: the interval). A partitioned
// target must not stall the schedule of the next scrapes.
func WithTimeout(d time.Duration) Option {
	return func(s *Scraper) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithHTTPClient sets the HTTP client of the scrapes.
func WithHTTPClient(c *http.Client) Option {
	return func(s *Scraper) {
		if c != nil {
			s.client = c
		}
	}
}

// WithLogger sets the logger for failed scrapes.
func WithLogger(l *slog.Logger) Option {
	return func(s *Scraper) {
		if l != nil {
			s.log = l
		}
	}
}

// Scraper scrapes one /metrics URL and accumulates the derived series.
// Its methods are safe for concurrent use.
type Scraper struct {
	url      func() string // where to scrape: it may move (a restarted target)
	interval time.Duration
	timeout  time.Duration
	client   *http.Client
	log      *slog.Logger

	mu       sync.Mutex
	scrapes  int64
	failures int64
	lastErr  error
	prev     reading // the last good scrape
	prevT    float64 // its offset from T0, seconds
	havePrev bool
	series   map[string][]results.Point
}

// NewScraper returns a scraper of url, e.g. "http://127.0.0.1:8080/metrics".
func NewScraper(url string, opts ...Option) *Scraper {
	return NewScraperOf(func() string { return url }, opts...)
}

// NewScraperOf returns a scraper of the URL url returns at each scrape: a
// target restarted on another port is followed.
func NewScraperOf(url func() string, opts ...Option) *Scraper {
	s := &Scraper{
		url:      url,
		interval: DefaultInterval,
		client:   &http.Client{},
		log:      slog.Default(),
		series:   map[string][]results.Point{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.timeout == 0 {
		s.timeout = s.interval
	}
	return s
}

// Run scrapes at once, then every interval until ctx ends. Points are
// stamped with their offset from t0, the variant's load start.
func (s *Scraper) Run(ctx context.Context, t0 time.Time) {
	ticker := time.NewTicker(s.interval)
	defer ticker.Stop()
	for {
		if err := s.ScrapeOnce(ctx, time.Since(t0)); err != nil && ctx.Err() == nil {
			s.log.Debug("metrics: scrape failed", "url", s.url(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// ScrapeOnce scrapes now and stamps the result with at, the offset from T0.
// Run calls it on its ticker; tests call it to control time. A failure is
// counted and returned, and leaves the series as they were: the next good
// scrape's rates then span the gap.
func (s *Scraper) ScrapeOnce(ctx context.Context, at time.Duration) error {
	families, err := s.fetch(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scrapes++
	if err != nil {
		s.failures++
		s.lastErr = err
		return err
	}
	s.record(at.Seconds(), reduce(families))
	return nil
}

func (s *Scraper) fetch(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	url := s.url()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	// Ask for the text format: it is the one every exporter speaks, and
	// the one the parser below reads.
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // let the connection be reused
		return nil, fmt.Errorf("metrics: scrape %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("metrics: scrape %s: content type %q, want the text format", url, ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("metrics: parse %s: %w", url, err)
	}
	return families, nil
}

// record adds one good scrape at t seconds. The first good scrape is the
// baseline of the counters and gives gauge points only.
func (s *Scraper) record(t float64, cur reading) {
	emit := func(name string, p results.Point) { s.series[name] = append(s.series[name], p) }
	if !s.havePrev {
		points(t, 0, nil, cur, emit)
	} else {
		points(t, t-s.prevT, increments(s.prev, cur), cur, emit)
	}
	s.prev, s.prevT, s.havePrev = cur, t, true
}

// Series returns the derived series with at least one point: the fixed
// series in a stable order, then requests_per_second_by_code_* by class.
// The points are copies.
func (s *Scraper) Series() []results.Series {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []results.Series
	add := func(name, unit, help string) {
		if pts := s.series[name]; len(pts) > 0 {
			out = append(out, results.Series{Name: name, Unit: unit, Help: help, Points: slices.Clone(pts)})
		}
	}
	for _, name := range seriesOrder {
		m := seriesMeta[name]
		add(name, m[0], m[1])
	}
	var classes []string
	for name := range s.series {
		if strings.HasPrefix(name, RequestsByCodePrefix) {
			classes = append(classes, name)
		}
	}
	slices.Sort(classes)
	for _, name := range classes {
		class := strings.TrimPrefix(name, RequestsByCodePrefix)
		add(name, unitRate, "responses with status "+class+" per second, all routes")
	}
	return out
}

// Scrapes returns how many scrapes were attempted.
func (s *Scraper) Scrapes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scrapes
}

// Failures returns how many scrapes failed.
func (s *Scraper) Failures() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}

// LastError returns the error of the latest failed scrape, or nil.
func (s *Scraper) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}
