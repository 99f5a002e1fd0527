package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Exit statuses, as documented in loadlab --help.
const (
	exitFailed      = 1 // a check failed, a regression, or the run failed
	exitUsage       = 2 // bad arguments or flags; also compare's unreadable inputs
	exitInterrupted = 130
)

// exitCode is an error that only sets the exit status: what went wrong has
// already been reported (a failed check, a regression).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// codedError is an error to report that also sets the exit status.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// exitErr reports err and exits with code.
func exitErr(code int, err error) error { return codedError{code, err} }

// usageError is a mistake in the command line: exit status 2.
func usageError(err error) error { return exitErr(exitUsage, err) }

// usageArgs makes an argument check's error a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError(fmt.Errorf("%w (see: %s --help)", err, cmd.CommandPath()))
		}
		return nil
	}
}
