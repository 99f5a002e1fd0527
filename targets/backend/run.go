package backend

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// shutdownTimeout bounds how long Main waits for in-flight requests.
const shutdownTimeout = 10 * time.Second

// Main runs the backend as a process until ctx ends: it reads the
// configuration from the environment and args, listens, waits for Postgres
// (answering /healthz 503 meanwhile), serves, and on cancellation drains
// in-flight requests and stops the queue worker. Logs go to stderr as JSON.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := ParseConfig(args, os.LookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	srv, err := New(cfg, WithLogger(log))
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("backend: listen: %w", err)
	}
	fmt.Fprintf(stdout, "backend listening on %s\n", ln.Addr())
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	startCtx, cancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	err = srv.Start(startCtx)
	cancel()
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-served:
		}
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if serr := hs.Shutdown(shutCtx); serr != nil && err == nil {
		err = fmt.Errorf("backend: shutdown: %w", serr)
	}
	if errors.Is(err, http.ErrServerClosed) || (err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		err = nil
	}
	log.Info("backend stopped")
	return err
}
