// Command backend is loadlab's sample target: an items service over Postgres
// and Redis whose caching, queueing and consistency behaviour is chosen by
// configuration (flags or BACKEND_* environment variables; see
// targets/README.md). It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/loadlab/loadlab/targets/backend"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := backend.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
