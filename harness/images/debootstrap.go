package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// errNoDebootstrap is the error when debootstrap is missing and cannot be
// installed here: the exact command, and the alternative for machines that
// reach a registry.
var errNoDebootstrap = errors.New("images: debootstrap is not installed: run `sudo apt-get install -y debootstrap`, " +
	"or on a machine that reaches a registry use the official images: LOADLAB_IMAGES=upstream make scenario name=partition")

// installPlan says how debootstrap can be installed without asking
// anyone: as root, or through sudo without a password, with apt-get.
// nil when it cannot.
func installPlan(root, sudoWorks, haveApt bool) []string {
	switch {
	case !haveApt:
		return nil
	case root:
		return []string{}
	case sudoWorks:
		return []string{"sudo", "-n"}
	}
	return nil
}

// ensureDebootstrap installs debootstrap when it is missing and the
// machine allows it without a prompt, saying so in one line; otherwise it
// returns errNoDebootstrap.
func (b *builder) ensureDebootstrap(ctx context.Context) error {
	if _, err := exec.LookPath("debootstrap"); err == nil {
		return nil
	}
	_, aptErr := exec.LookPath("apt-get")
	root := os.Geteuid() == 0
	sudo := !root && exec.CommandContext(ctx, "sudo", "-n", "true").Run() == nil
	prefix := installPlan(root, sudo, aptErr == nil)
	if prefix == nil {
		return errNoDebootstrap
	}
	w := b.progress
	if w == nil {
		w = io.Discard
	}
	fmt.Fprintln(w, "  installing debootstrap (apt-get install debootstrap), needed once to build the Postgres and Redis images")
	for _, args := range [][]string{{"apt-get", "update", "-qq"}, {"apt-get", "install", "-y", "-qq", "debootstrap"}} {
		args = append(append([]string{}, prefix...), args...)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("images: installing debootstrap: %v: %w\n%s\n%w", args, err, tail(string(out), 10), errNoDebootstrap)
		}
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("images: apt-get installed debootstrap but it is not on PATH: %w", errNoDebootstrap)
	}
	return nil
}
