package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
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

func imagesCmd(stderr io.Writer) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build every image the lab needs, offline (cached: only what changed is rebuilt)",
		Args:  cobra.NoArgs,
	}
	set := imageFlags(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "rebuild even when up to date")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		_, err := ensureImages(cmd.Context(), set(), stderr, force)
		return err
	}
	return cmd
}

func ensureImages(ctx context.Context, s images.Set, stderr io.Writer, force bool) ([]images.Report, error) {
	opts := []images.Option{images.WithProgress(stderr)}
	if force {
		opts = append(opts, images.WithForce())
	}
	start := time.Now()
	reports, err := images.Ensure(ctx, s, opts...)
	for _, r := range reports {
		state := "up to date"
		switch {
		case r.Built:
			state = "built in " + r.Elapsed.Round(100*time.Millisecond).String()
		case !images.Builds(r.Role, r.Ref):
			state = "external (pulled by Docker if missing)"
		}
		id := r.ID
		if len(id) > 19 {
			id = id[:19]
		}
		fmt.Fprintf(stderr, "  %-10s %-32s %-19s %s\n", r.Role, r.Ref, id, state)
	}
	if err != nil {
		return reports, err
	}
	slog.Debug("images ready", "took", time.Since(start))
	return reports, nil
}

func upCmd(stdout, stderr io.Writer) *cobra.Command {
	var settings []string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring the lab up, print its endpoints, keep it until Ctrl-C, then remove everything",
		Args:  cobra.NoArgs,
	}
	set := imageFlags(cmd)
	cmd.Flags().StringArrayVar(&settings, "set", nil, "backend setting KEY=VALUE (e.g. --set cache=cache-aside --set consistency=ap)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		s := set()
		if _, err := ensureImages(ctx, s, stderr, false); err != nil {
			return err
		}
		backendEnv, err := backendSettings(settings)
		if err != nil {
			return err
		}
		e, err := env.Up(ctx, env.Config{Images: s, BackendEnv: backendEnv})
		if err != nil {
			return err
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if err := e.Down(dctx); err != nil {
				slog.Error("teardown", "err", err)
			}
		}()
		fmt.Fprintf(stdout, `loadlab is up (run %s, started in %s)

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
		fmt.Fprintln(stdout, "tearing down…")
		return nil
	}
	return cmd
}

// backendSettings turns KEY=VALUE pairs into BACKEND_KEY environment.
func backendSettings(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		out[env.SettingEnv(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func cleanCmd(stdout io.Writer) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove containers and networks left behind by crashed runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, n, err := env.Clean(cmd.Context(), all)
			fmt.Fprintf(stdout, "removed %d containers and %d networks\n", c, n)
			return err
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also remove those of runs still in progress")
	return cmd
}
