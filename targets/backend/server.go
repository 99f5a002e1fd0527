package backend

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Server is the items service: the HTTP handler plus its background loops
// (the queue worker and the queue metrics poller).
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	db      *pgStore
	redis   *redisStore   // nil without redis_addr
	items   itemStore     // db, or Redis with store=redis
	auth    authenticator // nil with auth=none
	clock   *hybridClock
	handler http.Handler

	flight singleflight.Group
	// gens counts committed writes per slot of keys (hashed). A singleflight
	// load is shared only by readers that saw the same count, so no reader
	// joins a load that started before a write it has seen acknowledged.
	gens     [256]atomic.Uint64
	genSeed  maphash.Seed
	ready    atomic.Bool
	startMu  sync.Mutex
	started  bool
	stop     context.CancelFunc
	loops    sync.WaitGroup
	closeErr error
	closed   sync.Once
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// New validates cfg and builds a Server. It does no network I/O: Postgres
// and Redis are dialled on first use; Start waits for Postgres.
func New(cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.QueuePollInterval <= 0 {
		cfg.QueuePollInterval = DefaultConfig().QueuePollInterval
	}
	s := &Server{cfg: cfg, log: slog.Default(), metrics: newMetrics(), clock: newHybridClock(), genSeed: maphash.MakeSeed()}
	for _, o := range opts {
		o(s)
	}
	db, err := newPGStore(cfg, s.metrics.dbQueries, s.metrics.dbErrors)
	if err != nil {
		return nil, err
	}
	s.db = db
	s.metrics.registerPool(db.stats)
	if cfg.RedisAddr != "" {
		s.redis = newRedisStore(cfg, s.metrics.redisErrors)
	}
	s.items = db
	if cfg.Store == StoreRedis {
		s.items = redisItems{s.redis}
	}
	if s.auth, err = newAuthenticator(cfg, s.redis); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	items := func(h http.HandlerFunc) http.Handler {
		return rateLimit(s.cfg.RateLimit, s.metrics, limitInflight(s.cfg.MaxInflight, s.metrics, s.requireToken(h)))
	}
	if s.auth != nil {
		mux.HandleFunc("POST /auth/login", s.login)
		mux.HandleFunc("POST /auth/logout", s.logout)
	}
	mux.Handle("GET /items/{key}", items(s.getItem))
	mux.Handle("PUT /items/{key}", items(s.putItem))
	mux.Handle("GET /counters/{key}", items(s.getCounter))
	mux.Handle("POST /counters/{key}/increment", items(s.incrementCounter))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.metrics.handler())
	return s.metrics.instrument(mux)
}

// Handler serves the items API, /healthz and /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

// Start waits until Postgres accepts the schema (retrying with backoff
// until ctx ends), marks the server ready and starts the background loops,
// which run until Close. Item requests are answered 503 until then.
func (s *Server) Start(ctx context.Context) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.started {
		return errors.New("backend: already started")
	}
	if err := s.db.waitReady(ctx, s.log); err != nil {
		return err
	}
	if s.redis != nil {
		if err := s.redis.warm(ctx); err != nil {
			s.log.Warn("redis not reachable at start; carrying on without it for now", "err", err)
		}
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop, s.started = stop, true
	if s.redis != nil && s.cfg.usesQueue() {
		w := newWorker(s)
		s.loops.Add(2)
		go func() { defer s.loops.Done(); w.run(loopCtx) }()
		go func() { defer s.loops.Done(); s.pollQueueLoop(loopCtx) }()
	}
	s.ready.Store(true)
	s.log.Info("backend ready", "store", s.cfg.Store, "cache", s.cfg.Cache, "stampede", s.cfg.Stampede,
		"writes", s.cfg.Writes, "consistency", s.cfg.Consistency)
	return nil
}

// Ready reports whether Start has finished.
func (s *Server) Ready() bool { return s.ready.Load() }

// Close stops the background loops and closes the store clients. In-flight
// requests should be drained first (http.Server.Shutdown).
func (s *Server) Close() error {
	s.closed.Do(func() {
		s.startMu.Lock()
		if s.stop != nil {
			s.stop()
		}
		s.startMu.Unlock()
		s.loops.Wait()
		s.db.close()
		if s.redis != nil {
			s.closeErr = s.redis.close()
		}
	})
	return s.closeErr
}

// StreamKey is the Redis key of the write stream (consumer group StreamGroup).
func (s *Server) StreamKey() string {
	if s.redis == nil {
		return ""
	}
	return s.redis.streamKey()
}

// Apply applies one queued write to Postgres, as the worker does for each
// stream message, and updates the cache when Postgres changed. applied is
// false when Postgres already held this version or a newer one: applying a
// redelivered message has no second effect.
func (s *Server) Apply(ctx context.Context, w QueuedWrite) (applied bool, err error) {
	if !validKey(w.Key) || w.Version <= 0 {
		return false, fmt.Errorf("backend: apply: bad write key=%q version=%d", w.Key, w.Version)
	}
	if w.Value == nil {
		w.Value = []byte{}
	}
	applied, err = s.db.apply(ctx, w)
	if err != nil || !applied {
		return applied, err
	}
	s.metrics.writesApplied.Inc()
	s.bumpGen(w.Key)
	s.updateCacheAfterCommit(ctx, w.Key, Item{Value: w.Value, Version: w.Version}, false)
	return true, nil
}

func (s *Server) pollQueueLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.QueuePollInterval)
	defer t.Stop()
	for {
		s.pollQueue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollQueue refreshes the queue depth and lag gauges. When Redis cannot
// answer, they keep their last values.
func (s *Server) pollQueue(ctx context.Context) {
	depth, lag, err := s.redis.queueStats(ctx)
	if err != nil {
		return
	}
	s.metrics.queueDepth.Set(float64(depth))
	s.metrics.queueLag.Set(lag.Seconds())
}

func (s *Server) genSlot(key string) *atomic.Uint64 {
	return &s.gens[maphash.String(s.genSeed, key)%uint64(len(s.gens))]
}

func (s *Server) bumpGen(key string) { s.genSlot(key).Add(1) }
