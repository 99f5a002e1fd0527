package history_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/faults"
	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/scenarios"
	"github.com/loadlab/loadlab/targets/backend"
)

// TestSampleBackendRaisesNoFalseAnomalies is the checker's null test: the
// sample backend in every mode (cache none / cache-aside / write-through ×
// writes sync / queue × cp / ap), under load, with its link to Postgres cut
// by toxiproxy for 1.5 s. Every mode must lose nothing, return nothing
// impossible and converge; a stale read or a version going backwards is a
// real anomaly only the backend's declared weakenings may explain (a read it
// labelled X-Source: stale, or a write it acknowledged into its queue with
// 202): everything else would be a false alarm of the checker, or a bug of
// the backend. One lab serves every mode; each backend runs in-process with
// a clean table and its own Redis prefix.
func TestSampleBackendRaisesNoFalseAnomalies(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Docker")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := labtest.Up(t, env.Config{NoBackend: true, Logger: quiet})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	pg, err := pgx.Connect(ctx, e.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)

	for _, consistency := range []string{"cp", "ap"} {
		for _, writes := range []string{"sync", "queue"} {
			for _, cache := range []string{"none", "cache-aside", "write-through"} {
				name := fmt.Sprintf("%s-%s-%s", consistency, writes, cache)
				t.Run(name, func(t *testing.T) {
					cfg := backend.DefaultConfig()
					cfg.DatabaseURL = fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable",
						env.PostgresUser, env.PostgresPassword, e.ProxiedPostgresAddr, env.PostgresDB)
					cfg.RedisAddr = e.ProxiedRedisAddr
					cfg.Cache, cfg.Writes, cfg.Consistency = cache, writes, consistency
					// Generous for a loaded 2-core machine; the cut still shows within them.
					cfg.DBTimeout, cfg.RedisTimeout = time.Second, 500*time.Millisecond
					cfg.BreakerCooldown = 200 * time.Millisecond
					cfg.QueuePollInterval = 50 * time.Millisecond
					cfg.StartupTimeout = 30 * time.Second
					cfg.RedisPrefix = fmt.Sprintf("null-%s-%d", name, time.Now().UnixNano())
					nullRun(ctx, t, e, pg, cfg, quiet)
				})
			}
		}
	}
}

func nullRun(ctx context.Context, t *testing.T, e *env.Env, pg *pgx.Conn, cfg backend.Config, quiet *slog.Logger) {
	if _, err := pg.Exec(ctx, "DROP TABLE IF EXISTS items"); err != nil {
		t.Fatal(err)
	}
	s, err := backend.New(cfg, backend.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sctx, cancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	err = s.Start(sctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	keys := load.Keys{Count: 20, Distribution: "zipf"}
	streams := []load.Stream{
		{Name: "reads", Method: "GET", Path: "/items/{key}", Rate: 90, Keys: keys},
		{Name: "writes", Method: "PUT", Path: "/items/{key}", Rate: 30, Keys: keys, BodySize: 64},
	}
	values := history.NewValues(history.NewNonce(), load.ValueSizes(streams))
	cut := []scenarios.Fault{{Name: "db-cut", Link: "backend->postgres", At: time.Second, For: 1500 * time.Millisecond, Toxic: scenarios.Toxic{Type: "down"}}}
	schedule, err := faults.NewSchedule(e.Toxiproxy, e.Proxies, cut, faults.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	res, err := load.Run(ctx, srv.URL, streams, load.WithDuration(3500*time.Millisecond), load.WithValues(values),
		load.WithTimeout(5*time.Second), load.WithLogger(quiet),
		load.WithOnStart(func(t0 time.Time) { go func() { defer close(done); schedule.Run(ctx, t0) }() }))
	<-done
	if err != nil {
		t.Fatal(err)
	}
	reader := history.NewAPIReader(srv.URL, values)
	defer reader.Close()
	settleCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	settled := history.Settle(settleCtx, reader, res.Ops)
	cancel()
	h, anomalies := history.Analyse(res.Ops, settled.Final, history.WithStreamNames([]string{"reads", "writes"}))
	t.Logf("%d ops, %d acked writes, %d ok reads; stale %d, regressions %d, lost %d, impossible %d, unconverged %d; settle %s",
		h.Operations, h.AckedWrites, h.OKReads, h.StaleReads, h.VersionRegressions, h.LostWrites, h.ImpossibleReads, h.UnconvergedKeys, settled.Took.Round(time.Millisecond))
	if h.AckedWrites == 0 || h.OKReads == 0 {
		t.Fatalf("nothing to judge: %+v", h)
	}
	if !settled.Converged {
		t.Errorf("did not converge: %v", settled.Err)
	}
	ops := res.Ops
	byValue := map[history.Value]int{}
	for i := range ops {
		if ops[i].Write {
			byValue[ops[i].Value] = i
		}
	}
	// declared says an op's evidence comes from what the backend declares
	// may be out of step with its database: a write acknowledged into the
	// queue (202), a read of one, or a read it labelled X-Source: stale
	// (AP's last-known copy, which includes queued writes).
	declared := func(i int32) bool {
		if i < 0 {
			return false
		}
		op := &ops[i]
		if !op.Write {
			if op.Source == history.SourceStale {
				return true
			}
			w, ok := byValue[op.Value]
			if !ok {
				return false
			}
			op = &ops[w]
		}
		return op.Code == 202
	}
	unexplained := 0
	for _, a := range anomalies {
		switch a.Kind {
		case history.KindStaleRead, history.KindVersionRegression:
			if declared(a.Op) || declared(a.Witness) {
				continue
			}
		}
		if unexplained++; unexplained <= 5 {
			t.Errorf("%s on k%d: op %+v witness %d wrote %d reason %q", a.Kind, a.Key, ops[a.Op], a.Witness, a.Wrote, a.Reason)
			for _, i := range []int32{a.Witness, a.Op} {
				if i < 0 {
					continue
				}
				t.Logf("  op %d: %+v", i, ops[i])
				if w, ok := byValue[ops[i].Value]; ok && !ops[i].Write {
					t.Logf("    its value's write: %+v", ops[w])
				}
			}
		}
	}
	if unexplained > 0 {
		t.Errorf("%d anomalies the backend's mode does not explain", unexplained)
	}
}
