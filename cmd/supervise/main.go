// Command supervise runs a target's program as PID 1 of its container and
// restarts it in place on request (see package harness/supervise): the
// lab's backend images start it as their entrypoint.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/loadlab/loadlab/harness/supervise"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	os.Exit(supervise.Run(context.Background(), os.Args[1:], signals, os.Stdout, os.Stderr))
}
