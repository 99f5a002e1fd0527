// Command loadlab is the lab's CLI: it builds the images, brings the
// environment up, runs scenarios, renders reports and compares runs. It is
// thin: each command parses flags and calls the harness or the reports.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/loadlab/loadlab/harness/env"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// First signal: stop gracefully (write what was measured, tear
		// down). The cause becomes the reason of the aborted results.
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "\nloadlab: %v: stopping; press Ctrl-C again to force\n", sig)
		cancel(fmt.Errorf("received %s", signalName(sig)))
		// Second: remove the lab's containers right away and exit.
		<-sigs
		fmt.Fprintln(os.Stderr, "loadlab: forced exit: removing containers")
		if err := env.Emergency(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "loadlab:", err, "(loadlab clean removes what is left)")
		}
		os.Exit(130)
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	cancel(nil)
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "loadlab:", err)
		if interrupted { // e.g. stopped while the images were checked
			os.Exit(exitInterrupted)
		}
		var ce codedError
		if errors.As(err, &ce) {
			os.Exit(ce.code)
		}
		os.Exit(exitFailed)
	}
}

// signalName names the signals loadlab handles as their users know them.
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
