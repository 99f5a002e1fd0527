package duet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/scenarios"
)

// Side is the system under test of one side of a duet: a backend image and
// settings laid over every variant's.
type Side struct {
	Spec     string            // as the user wrote it: "main", "loadlab/backend:v1", "cache=none"
	Image    string            // the backend image
	Settings map[string]string // overlay: replaces these settings of every variant
	Commit   string            // for a git ref, the commit its image was built from
}

// ParseOverlay parses "name=value[,name=value…]"; names must be sample
// backend settings.
func ParseOverlay(spec string) (map[string]string, error) {
	known := map[string]bool{}
	var names []string
	for _, s := range scenarios.SampleBackendSettings() {
		known[s.Name] = true
		names = append(names, s.Name)
	}
	out := map[string]string{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("duet: settings overlay %q: want name=value[,name=value]", spec)
		}
		if !known[k] {
			slices.Sort(names)
			return nil, fmt.Errorf("duet: settings overlay %q: unknown setting %q (one of %s)", spec, k, strings.Join(names, ", "))
		}
		out[k] = v
	}
	return out, nil
}

// Resolve turns a side's spec into a Side, building what it needs:
//
//   - "name=value,…": a settings overlay on the default backend image (def);
//   - a git ref of the repository at repo ("main", "HEAD~1", a hash): the
//     backend built from that commit's source, checked out in a temporary
//     git worktree, as loadlab/backend:git-<hash>;
//   - anything else: an image ref, used as the backend image (a
//     loadlab/backend:<tag> is built from the current source tree).
//
// set is the lab's images (its backend is the default); images are built
// (images.Ensure) with opts.
func Resolve(ctx context.Context, spec, repo string, set images.Set, opts ...images.Option) (Side, error) {
	side := Side{Spec: spec, Image: set.Backend}
	switch {
	case spec == "":
		return side, fmt.Errorf("duet: empty side")
	case strings.Contains(spec, "="):
		overlay, err := ParseOverlay(spec)
		side.Settings = overlay
		return side, err
	}
	if sha, ok := gitCommit(ctx, repo, spec); ok {
		side.Commit = sha
		side.Image = images.BackendRepo + ":git-" + sha[:12]
		return side, buildFromCommit(ctx, repo, sha, set.With(images.Backend, side.Image), opts)
	}
	side.Image = spec
	if images.Builds(images.Backend, spec) {
		_, err := images.Ensure(ctx, set.With(images.Backend, spec), opts...)
		return side, err
	}
	return side, nil
}

// gitCommit resolves ref to a commit of the repository at repo.
func gitCommit(ctx context.Context, repo, ref string) (string, bool) {
	if repo == "" || strings.HasPrefix(ref, "-") {
		return "", false
	}
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "--verify", "--quiet", ref+"^{commit}").Output()
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

// buildFromCommit checks sha out in a temporary worktree and builds the
// backend image of set from it; the worktree is removed afterwards.
func buildFromCommit(ctx context.Context, repo, sha string, set images.Set, opts []images.Option) error {
	dir, err := os.MkdirTemp("", "loadlab-duet-")
	if err != nil {
		return fmt.Errorf("duet: %w", err)
	}
	os.Remove(dir) // git worktree add wants to create it
	if err := git(ctx, repo, "worktree", "add", "--detach", dir, sha); err != nil {
		return err
	}
	defer func() {
		_ = git(context.WithoutCancel(ctx), repo, "worktree", "remove", "--force", dir)
		os.RemoveAll(dir)
	}()
	_, err = images.Ensure(ctx, set, append(slices.Clone(opts), images.WithSourceDir(dir))...)
	if err != nil {
		return fmt.Errorf("duet: build %s from %s: %w", set.Backend, sha[:12], err)
	}
	return nil
}

func git(ctx context.Context, repo string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("duet: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
