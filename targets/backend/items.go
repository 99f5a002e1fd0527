package backend

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sources of a response's data (X-Source).
const (
	SourceDB    = "db"
	SourceCache = "cache"
	SourceStale = "stale"
	SourceQueue = "queue"
)

// validKey reports whether key matches ^[A-Za-z0-9_.:-]{1,128}$.
func validKey(key string) bool {
	if len(key) == 0 || len(key) > 128 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// readyKey is the request's {key}, once it is valid and the server is
// ready; otherwise it answers (400, or 503 while starting) and returns false.
func (s *Server) readyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.PathValue("key")
	if !validKey(key) {
		http.Error(w, "bad key", http.StatusBadRequest)
		return "", false
	}
	if !s.ready.Load() {
		s.unavailable(w, "starting")
		return "", false
	}
	return key, true
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	key, ok := s.readyKey(w, r)
	if !ok {
		return
	}
	if !s.serviceTime(r.Context()) {
		return // the client went away
	}
	res, err := s.read(r.Context(), key)
	if err != nil {
		s.fail(w, err, false)
		return
	}
	h := w.Header()
	h.Set("X-Source", res.source)
	if !res.found {
		h.Set("X-Version", "0")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.Set("X-Version", strconv.FormatInt(res.item.Version, 10))
	if s.cfg.MaxAge > 0 {
		h.Set("Cache-Control", "max-age="+strconv.Itoa(int(s.cfg.MaxAge.Seconds())))
	}
	if s.cfg.ETags {
		// A key's version names its value: two values of a key never share
		// one, so it is a strong validator.
		etag := `"` + strconv.FormatInt(res.item.Version, 10) + `"`
		h.Set("ETag", etag)
		if matchesETag(r.Header.Get("If-None-Match"), etag) {
			// The client's copy is current: the lookup was done, the
			// body is not sent again.
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(res.item.Value)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.item.Value)
}

// matchesETag reports whether an If-None-Match header names etag: "*", or
// a list of entity tags compared weakly (RFC 9110 13.1.2: W/ is ignored).
func matchesETag(ifNoneMatch, etag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (s *Server) putItem(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !validKey(key) {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	if r.ContentLength > s.cfg.MaxBody {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !s.ready.Load() {
		s.unavailable(w, "starting")
		return
	}
	version, source, err := s.write(r.Context(), key, value)
	if err != nil {
		s.fail(w, err, true)
		return
	}
	h := w.Header()
	h.Set("X-Version", strconv.FormatInt(version, 10))
	h.Set("X-Source", source)
	if source == SourceQueue {
		s.metrics.writesAccepted.WithLabelValues(WritesQueue).Inc()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.metrics.writesAccepted.WithLabelValues(WritesSync).Inc()
	s.metrics.writesApplied.Inc()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	state := func(b *breaker) string {
		if b.up() {
			return "up"
		}
		return "down"
	}
	redis := "off"
	if s.redis != nil {
		redis = state(s.redis.breaker)
	}
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"starting"}`+"\n")
		return
	}
	_, _ = io.WriteString(w, `{"status":"ok","postgres":"`+state(s.db.breaker)+`","redis":"`+redis+`"}`+"\n")
}

func (s *Server) unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", retryAfter(s.cfg.BreakerCooldown))
	http.Error(w, msg, http.StatusServiceUnavailable)
}

// fail answers a failed request. 503 promises the request had no effect;
// a write that may have reached the store gets 504 (deadline) or 500.
func (s *Server) fail(w http.ResponseWriter, err error, write bool) {
	switch {
	case isUnavailable(err) && (!write || !mayHaveApplied(err)):
		s.unavailable(w, err.Error())
	case isUnavailable(err) && isTimeout(err):
		http.Error(w, "outcome unknown: "+err.Error(), http.StatusGatewayTimeout)
	default:
		s.log.Error("request failed", "err", err)
		http.Error(w, "outcome unknown: "+err.Error(), http.StatusInternalServerError)
	}
}

// readResult is an answered read.
type readResult struct {
	item   Item
	found  bool
	source string
}

func (s *Server) cacheOn() bool { return s.cfg.Cache != CacheNone }
func (s *Server) isAP() bool    { return s.cfg.Consistency == ConsistencyAP }

// read answers a GET: a cache hit, else Postgres (populating the cache and,
// in ap, the last-known copy), else, in ap when Postgres is unreachable,
// the last-known copy marked stale.
//
// In cp a cache hit is served even while Postgres is unreachable: an entry
// is never older than an acknowledged write, because every write updates
// or invalidates it (compare-and-set on version) before it is acknowledged,
// or, when Redis cannot be reached, moves the cache epoch so that no older
// entry is read again.
func (s *Server) read(ctx context.Context, key string) (readResult, error) {
	var cached entry
	if s.cacheOn() {
		e, err := s.redis.get(ctx, "cache_get", s.redis.cacheKey(s.redis.epoch.Load(), key))
		if err == nil && e.found && !e.tomb {
			if s.cfg.Stampede != StampedeEarlyRefresh || !refreshEarly(e, time.Now()) {
				s.metrics.cacheHits.Inc()
				return readResult{item: e.item, found: true, source: SourceCache}, nil
			}
			cached = e // refresh now, but keep the entry in case Postgres fails
		}
		s.metrics.cacheMisses.Inc()
	}
	res, err := s.load(ctx, key)
	if err == nil {
		return res, nil
	}
	if cached.found && isUnavailable(err) {
		return readResult{item: cached.item, found: true, source: SourceCache}, nil
	}
	if s.isAP() && isUnavailable(err) {
		e, lerr := s.redis.get(ctx, "last_get", s.redis.lastKey(key))
		if lerr == nil && e.found && !e.tomb {
			s.metrics.staleReads.Inc()
			return readResult{item: e.item, found: true, source: SourceStale}, nil
		}
	}
	return readResult{}, err
}

// refreshEarly decides a probabilistic early recomputation (XFetch, Vattani
// et al. 2015): the closer the entry is to expiring and the longer it took
// to load, the likelier one reader reloads it before it expires, so that
// readers do not all miss at once when it does.
func refreshEarly(e entry, now time.Time) bool {
	if e.expires.IsZero() {
		return false
	}
	const beta = 1.0
	cost := max(e.cost, time.Millisecond)
	gap := time.Duration(float64(cost) * beta * -math.Log(1-rand.Float64()))
	return !now.Add(gap).Before(e.expires)
}

// load reads key from Postgres; with stampede=singleflight concurrent
// misses of one key share one query.
func (s *Server) load(ctx context.Context, key string) (readResult, error) {
	if s.cfg.Stampede != StampedeSingleflight {
		return s.loadOnce(ctx, key)
	}
	flight := key + "\x00" + strconv.FormatUint(s.genSlot(key).Load(), 10)
	v, err, _ := s.flight.Do(flight, func() (any, error) {
		// Shared by several requests: do not let the first one's
		// cancellation fail the others. The store deadlines still apply.
		return s.loadOnce(context.WithoutCancel(ctx), key)
	})
	res, _ := v.(readResult)
	return res, err
}

func (s *Server) loadOnce(ctx context.Context, key string) (readResult, error) {
	// The epoch is read before the query: if a write fails to invalidate
	// while this read is in flight, the populate lands in the abandoned epoch.
	var epoch int64
	if s.cacheOn() {
		epoch = s.redis.epoch.Load()
	}
	start := time.Now()
	it, found, err := s.items.get(ctx, key)
	if err != nil {
		return readResult{}, err
	}
	if found {
		var ts []target
		if s.cacheOn() {
			ts = append(ts, target{rkey: s.redis.cacheKey(epoch, key), ttl: s.cfg.CacheTTL, cost: time.Since(start)})
		}
		if s.isAP() {
			ts = append(ts, target{rkey: s.redis.lastKey(key), ttl: lastKnownTTL})
		}
		_ = s.redis.set(ctx, "cache_set", it, ts) // a failed populate only costs a later miss
	}
	return readResult{item: it, found: found, source: SourceDB}, nil
}

// write handles a PUT and returns the version and where the write went:
// SourceDB (applied, 200) or SourceQueue (accepted, 202).
//
// cp+sync lets Postgres number versions 1, 2, 3...; every mode that may
// queue draws a floor from the hybrid clock and uses it on whichever path
// the write takes, so queued and direct writes share one order, and a write
// retried on the other path after an unknown outcome gets the same version.
func (s *Server) write(ctx context.Context, key string, value []byte) (int64, string, error) {
	var floor int64
	if s.cfg.usesQueue() {
		floor = s.clock.next()
	}
	if s.cfg.Writes == WritesQueue {
		if !s.isAP() && !s.db.breaker.up() {
			// cp refuses writes while the primary is known to be down,
			// even though the queue could take them.
			return 0, "", &unavailableError{store: "postgres", op: "put", err: errMarkedDown}
		}
		v, err := s.enqueue(ctx, key, value, floor)
		if err == nil || !s.isAP() || !isUnavailable(err) {
			return v, SourceQueue, err
		}
		// ap with Redis unreachable: write straight to Postgres.
		v, derr := s.putSync(ctx, key, value, floor)
		if derr != nil {
			return 0, "", bothFailed(err, derr)
		}
		return v, SourceDB, nil
	}
	v, err := s.putSync(ctx, key, value, floor)
	if err == nil || !s.isAP() || !isUnavailable(err) {
		return v, SourceDB, err
	}
	// ap with Postgres unreachable: queue the write. If the failed attempt
	// did commit, it committed this value at this floor, and the queued copy
	// applies as a no-op or as the same value at a higher version.
	v, qerr := s.enqueue(ctx, key, value, floor)
	if qerr != nil {
		return 0, "", bothFailed(err, qerr)
	}
	return v, SourceQueue, nil
}

// bothFailed merges the errors of a write tried on both paths: it may have
// taken effect if either attempt may have.
func bothFailed(first, second error) error {
	if !isUnavailable(second) {
		return second
	}
	u, _ := asUnavailable(second)
	return &unavailableError{
		store:          u.store,
		op:             u.op,
		mayHaveApplied: mayHaveApplied(first) || u.mayHaveApplied,
		err:            errors.Join(first, second),
	}
}

func (s *Server) putSync(ctx context.Context, key string, value []byte, floor int64) (int64, error) {
	v, err := s.items.put(ctx, key, value, floor)
	if err != nil {
		return 0, err
	}
	s.bumpGen(key)
	s.updateCacheAfterCommit(ctx, key, Item{Value: value, Version: v}, s.isAP())
	return v, nil
}

// updateCacheAfterCommit makes the cache agree with a version Postgres now
// holds: write-through stores it, cache-aside leaves a tombstone carrying
// the version. If that fails, the cache epoch moves on so that the older
// entry is never served. withLastKnown also refreshes the ap last-known copy.
func (s *Server) updateCacheAfterCommit(ctx context.Context, key string, it Item, withLastKnown bool) {
	if s.redis == nil {
		return
	}
	var ts []target
	if s.cacheOn() {
		ttl, tomb := s.cfg.CacheTTL, s.cfg.Cache == CacheAside
		if tomb {
			ttl = max(ttl, minTombstoneTTL)
		}
		ts = append(ts, target{rkey: s.redis.cacheKey(s.redis.epoch.Load(), key), ttl: ttl, tomb: tomb})
	}
	if withLastKnown {
		ts = append(ts, target{rkey: s.redis.lastKey(key), ttl: lastKnownTTL})
	}
	if err := s.redis.set(ctx, "cache_set", it, ts); err != nil && s.cacheOn() {
		s.redis.bumpEpoch()
		s.log.Debug("cache not updated after a write; cache epoch moved on", "key", key, "err", err)
	}
}

// enqueue puts a write into the stream. Write-through caches the accepted
// version at once; ap refreshes the last-known copy so that stale reads
// include the writes accepted during a partition.
func (s *Server) enqueue(ctx context.Context, key string, value []byte, floor int64) (int64, error) {
	var ts []target
	if s.cfg.Cache == CacheWriteThrough {
		ts = append(ts, target{rkey: s.redis.cacheKey(s.redis.epoch.Load(), key), ttl: s.cfg.CacheTTL})
	}
	if s.isAP() {
		ts = append(ts, target{rkey: s.redis.lastKey(key), ttl: lastKnownTTL})
	}
	return s.redis.enqueue(ctx, key, value, floor, ts)
}
