// Command broken is a deliberately broken items service: it keeps the
// items contract (targets/README.md) except in one way per mode, so that
// tests can plant each anomaly the history checker claims to catch in a
// real run (Docker, toxiproxy, the harness's own load), and show that the
// correct mode raises none. It keeps its items in memory: it is also a
// bring-your-own target that does not use the lab's Postgres.
//
//	BACKEND_MODE (or --mode):
//	  correct            linearizable: one mutex, versions 1, 2, 3 per key
//	  ack-drop           a key keeps its first value; later writes are acknowledged (200, no X-Version) and dropped
//	  stale-snapshot     reads come from a copy of the store refreshed every second, labelled X-Source: db
//	  previous-value     reads answer the newest X-Version with the previous value
//	  never-written      every 5th read within a second of a write to its key returns a value nobody wrote
//	  refused-values     every 4th write is stored, yet answered 503 (refused)
//	  version-backwards  values are right; every 4th read's X-Version is one too low
//	  slow-apply         writes are acknowledged 202 and applied by a worker, 10 a second
//	  mixed              key k<N> gets mode N mod 7 of the list above (correct … version-backwards):
//	                     one run plants every anomaly but slow convergence, and keeps a correct control
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var modes = []string{"correct", "ack-drop", "stale-snapshot", "previous-value", "never-written", "refused-values", "version-backwards", "slow-apply", "mixed"}

// mixedModes are the modes of "mixed", by key index modulo their number.
var mixedModes = modes[:7]

// modeOf is the mode that applies to key.
func (s *store) modeOf(key string) string {
	if s.mode != "mixed" {
		return s.mode
	}
	k, err := strconv.Atoi(key[1:])
	if err != nil || key[0] != 'k' {
		return "correct"
	}
	return mixedModes[k%len(mixedModes)]
}

type item struct {
	value, prev []byte
	version     int64
	at          time.Time // of the last write
}

type store struct {
	mode   string
	mu     sync.Mutex
	items  map[string]item
	snap   map[string]item // stale-snapshot
	queue  chan queued     // slow-apply
	reads  atomic.Int64
	writes atomic.Int64
}

type queued struct {
	key   string
	value []byte
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

func main() {
	mode := flag.String("mode", envOr("BACKEND_MODE", "correct"), "how to be broken: "+fmt.Sprint(modes))
	addr := flag.String("addr", envOr("BACKEND_ADDR", ":8080"), "listen address")
	flag.Parse()
	known := false
	for _, m := range modes {
		known = known || m == *mode
	}
	if !known {
		fmt.Fprintf(os.Stderr, "broken: unknown mode %q (modes: %v)\n", *mode, modes)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s := &store{mode: *mode, items: map[string]item{}, snap: map[string]item{}, queue: make(chan queued, 1<<16)}
	go s.background(ctx)
	srv := &http.Server{Addr: *addr, Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	slog.Info("broken target listening", "addr", *addr, "mode", *mode)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("listen", "err", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// background refreshes the snapshot and applies queued writes.
func (s *store) background(ctx context.Context) {
	snap := time.NewTicker(time.Second)
	apply := time.NewTicker(100 * time.Millisecond)
	defer snap.Stop()
	defer apply.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-snap.C:
			s.mu.Lock()
			s.snap = make(map[string]item, len(s.items))
			for k, v := range s.items {
				s.snap[k] = v
			}
			s.mu.Unlock()
		case <-apply.C:
			select {
			case q := <-s.queue:
				s.mu.Lock()
				s.put(q.key, q.value)
				s.mu.Unlock()
			default:
			}
		}
	}
}

// put stores a value under the lock and returns its version.
func (s *store) put(key string, value []byte) int64 {
	it := s.items[key]
	s.items[key] = item{value: value, prev: it.value, version: it.version + 1, at: time.Now()}
	return it.version + 1
}

func (s *store) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
	mux.HandleFunc("PUT /items/{key}", s.handlePut)
	mux.HandleFunc("GET /items/{key}", s.handleGet)
	return mux
}

func (s *store) handlePut(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !keyRE.MatchString(key) {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	n := s.writes.Add(1)
	mode := s.modeOf(key)
	if mode == "slow-apply" {
		s.queue <- queued{key, value}
		w.Header().Set("X-Source", "queue")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.mu.Lock()
	_, exists := s.items[key]
	if mode == "ack-drop" && exists {
		s.mu.Unlock()
		w.Header().Set("X-Source", "db") // acknowledged, no X-Version, not stored
		return
	}
	version := s.put(key, value)
	s.mu.Unlock()
	if mode == "refused-values" && n%4 == 0 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "refused", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("X-Version", strconv.FormatInt(version, 10))
	w.Header().Set("X-Source", "db")
}

func (s *store) handleGet(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !keyRE.MatchString(key) {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	n := s.reads.Add(1)
	mode := s.modeOf(key)
	s.mu.Lock()
	it, ok := s.items[key]
	if mode == "stale-snapshot" {
		it, ok = s.snap[key]
	}
	s.mu.Unlock()
	if !ok {
		w.Header().Set("X-Version", "0")
		http.NotFound(w, r)
		return
	}
	value, version := it.value, it.version
	switch {
	case mode == "previous-value" && it.prev != nil:
		value = it.prev
	case mode == "never-written" && n%5 == 0 && time.Since(it.at) < time.Second:
		value = []byte("made up by the target " + strconv.FormatInt(n, 10))
	case mode == "version-backwards" && n%4 == 0:
		version--
	}
	w.Header().Set("X-Version", strconv.FormatInt(version, 10))
	w.Header().Set("X-Source", "db")
	w.Write(value)
}
