package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/scenarios"
	"github.com/spf13/cobra"
)

// imageFlags adds --image-<role> flags over images.FromEnv.
func imageFlags(cmd *cobra.Command) func() images.Set {
	var upstream bool
	refs := map[string]*string{}
	cmd.Flags().BoolVar(&upstream, "upstream-images", false, "use the official images (postgres:16-alpine, redis:7-alpine, toxiproxy) from a registry; also LOADLAB_IMAGES=upstream")
	for _, role := range images.Roles() {
		refs[role] = cmd.Flags().String("image-"+role, "", fmt.Sprintf("image of %s (also %s)", role, images.EnvVars[role]))
	}
	return func() images.Set {
		s := images.FromEnv(images.Default)
		if upstream {
			s = images.FromEnv(images.Upstream)
		}
		for role, ref := range refs {
			if *ref != "" {
				s = s.With(role, *ref)
			}
		}
		return s
	}
}

func (c cli) imagesCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build every image the lab needs, offline (cached: only what changed is rebuilt)",
		Example: `  loadlab images                  build what is missing or out of date
  loadlab images --force          rebuild everything
  LOADLAB_IMAGE_BACKEND=loadlab/backend:mine loadlab images   a second backend build beside the first`,
		Args: usageArgs(cobra.NoArgs),
	}
	set := imageFlags(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "rebuild even when up to date")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		_, err := c.ensureImages(cmd.Context(), set(), force)
		return err
	}
	return cmd
}

func (c cli) ensureImages(ctx context.Context, s images.Set, force bool) ([]images.Report, error) {
	opts := []images.Option{images.WithProgress(c.stderr), images.WithLogger(c.log)}
	if force {
		opts = append(opts, images.WithForce())
	}
	start := time.Now()
	reports, err := images.Ensure(ctx, s, opts...)
	for _, r := range reports {
		state := r.State
		switch r.State {
		case images.StateBuilt:
			state = "built in " + r.Elapsed.Round(100*time.Millisecond).String()
		case images.StateExternal:
			state = "external (pulled by Docker if missing)"
		case images.StateNotAttempted:
			state = fmt.Sprintf("not attempted (%v)", r.Err)
		case images.StateFailed:
			state = "failed (below)"
		}
		id := r.ID
		if r.State != images.StateBuilt && r.State != images.StateUpToDate {
			id = "" // a stale image's id would say nothing true
		}
		if len(id) > 19 {
			id = id[:19]
		}
		fmt.Fprintf(c.stderr, "  %-10s %-32s %-19s %s\n", r.Role, r.Ref, id, state)
	}
	if err != nil {
		return reports, err
	}
	c.log.Debug("images ready", "took", time.Since(start))
	return reports, nil
}

func (c cli) upCmd() *cobra.Command {
	var settings []string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring the lab up, print its endpoints, keep it until Ctrl-C, then remove everything",
		Example: `  loadlab up
  loadlab up --set cache=cache-aside --set consistency=ap`,
		Args: usageArgs(cobra.NoArgs),
	}
	set := imageFlags(cmd)
	cmd.Flags().StringArrayVar(&settings, "set", nil, "backend setting KEY=VALUE (e.g. --set cache=cache-aside --set consistency=ap)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		s := set()
		backendEnv, err := backendSettings(settings, images.Builds(images.Backend, s.Backend))
		if err != nil {
			return usageError(err)
		}
		if _, err := c.ensureImages(ctx, s, false); err != nil {
			return err
		}
		e, err := env.Up(ctx, env.Config{Images: s, BackendEnv: backendEnv, Logger: c.log})
		if err != nil {
			return err
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := e.Down(dctx); err != nil {
				c.log.Error("teardown", "err", err)
			}
		}()
		fmt.Fprintf(c.stdout, `loadlab is up (run %s, started in %s)

  backend via toxiproxy  %s
  backend direct         %s
  metrics                %s/metrics
  postgres (direct)      %s
  redis (direct)         %s
  toxiproxy API          %s   proxies: client_backend, backend_postgres, backend_redis

Try:
  curl -i -X PUT --data 'hello' %s/items/k1
  curl -i %s/items/k1
  curl -s -X POST -d '{"name":"db-lag","type":"latency","attributes":{"latency":200}}' %s/proxies/backend_postgres/toxics

Press Ctrl-C to tear everything down.
`, e.RunID, e.StartedIn.Round(time.Millisecond), e.BackendURL, e.BackendDirectURL, e.BackendDirectURL,
			e.PostgresDSN, e.RedisAddr, e.ToxiproxyURL, e.BackendURL, e.BackendURL, e.ToxiproxyURL)
		<-ctx.Done()
		fmt.Fprintln(c.stdout, "tearing down…")
		return nil
	}
	return cmd
}

// backendSettings turns KEY=VALUE pairs into BACKEND_KEY environment,
// checked against the sample backend's settings when it is the target.
func backendSettings(kvs []string, sample bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		if msg := scenarios.CheckBackendSetting(k, v, sample); msg != "" {
			return nil, fmt.Errorf("--set %s: %s", kv, msg)
		}
		out[env.SettingEnv(k)] = v
	}
	return out, nil
}

func (c cli) cleanCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove containers and networks left behind by crashed runs",
		Long: `Remove the lab's containers and networks whose owner is provably gone: a
process of this machine and pid namespace that no longer runs (or whose pid
now belongs to a process started later). Those of other machines, other pid
namespaces (another CI job on a shared Docker daemon) or live runs are kept;
--all removes them too.`,
		Example: `  loadlab clean
  loadlab clean --all     also the labs of live runs and of other hosts or namespaces`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, nn, err := env.Clean(cmd.Context(), all)
			fmt.Fprintf(c.stdout, "removed %d containers and %d networks\n", nc, nn)
			return err
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also remove those of live runs, other hosts and other pid namespaces")
	return cmd
}
