// Package images builds, offline, every container image the lab needs.
//
// No registry is reachable on the machines loadlab is developed and tested
// on, so nothing is pulled:
//
//   - Postgres and Redis come from Debian's packages: debootstrap makes a
//     minimal bookworm root filesystem with both servers, it is trimmed and
//     imported as one base image, and two small Dockerfiles add an
//     entrypoint each (debian.go).
//   - toxiproxy-server and the sample backend are static Go binaries
//     (CGO_ENABLED=0) in FROM scratch images (gobinary.go).
//
// Every image carries the hash of its recipe in the label loadlab.recipe.
// Ensure compares that label with the current recipe and rebuilds only what
// changed, so an unchanged set costs well under a second. Images that are
// not ours (say postgres:16-alpine on a laptop with a registry) are left to
// Docker: testcontainers pulls them when they are missing.
package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"
)

// Roles of the images in a lab environment.
const (
	Postgres  = "postgres"
	Redis     = "redis"
	Toxiproxy = "toxiproxy"
	Backend   = "backend"
)

// Labels put on everything the lab creates.
const (
	LabelLab    = "loadlab"        // "true" on every image, container and network of the lab
	LabelRecipe = "loadlab.recipe" // hash of the recipe an image was built from
)

// Set names the image of each role.
type Set struct {
	Postgres  string `json:"postgres"`
	Redis     string `json:"redis"`
	Toxiproxy string `json:"toxiproxy"`
	Backend   string `json:"backend"`
}

// Default is the set built locally by Ensure.
var Default = Set{
	Postgres:  "loadlab/postgres:15-bookworm",
	Redis:     "loadlab/redis:7-bookworm",
	Toxiproxy: "loadlab/toxiproxy:2.12.0",
	Backend:   "loadlab/backend:dev",
}

// Upstream is the set of official images, for machines that reach a registry.
var Upstream = Set{
	Postgres:  "postgres:16-alpine",
	Redis:     "redis:7-alpine",
	Toxiproxy: "ghcr.io/shopify/toxiproxy:2.12.0",
	Backend:   "loadlab/backend:dev", // ours in any case
}

// EnvVars are the environment variables that override a Set, by role.
var EnvVars = map[string]string{
	Postgres:  "LOADLAB_IMAGE_POSTGRES",
	Redis:     "LOADLAB_IMAGE_REDIS",
	Toxiproxy: "LOADLAB_IMAGE_TOXIPROXY",
	Backend:   "LOADLAB_IMAGE_BACKEND",
}

// FromEnv returns s with the roles named in LOADLAB_IMAGE_* replaced.
// LOADLAB_IMAGES=upstream starts from the official images.
func FromEnv(s Set) Set {
	if os.Getenv("LOADLAB_IMAGES") == "upstream" {
		s = Upstream
	}
	for role, name := range EnvVars {
		if v := os.Getenv(name); v != "" {
			s = s.With(role, v)
		}
	}
	return s
}

// Roles lists the roles in start order.
func Roles() []string { return []string{Postgres, Redis, Toxiproxy, Backend} }

// With returns s with the image of role replaced by ref.
func (s Set) With(role, ref string) Set {
	*s.ref(role) = ref
	return s
}

// Ref returns the image of a role.
func (s Set) Ref(role string) string { return *s.ref(role) }

func (s *Set) ref(role string) *string {
	switch role {
	case Postgres:
		return &s.Postgres
	case Redis:
		return &s.Redis
	case Toxiproxy:
		return &s.Toxiproxy
	case Backend:
		return &s.Backend
	}
	panic("images: unknown role " + role)
}

// BackendRepo is the repository of locally built backend images. Any tag in
// it is built from the source tree (loadlab/backend:dev by default; another
// tag names another build, e.g. of another commit or work tree, so that two
// builds of the backend can exist side by side).
const BackendRepo = "loadlab/backend"

// Builds reports whether Ensure builds the image of role named ref (rather
// than leaving it to Docker to pull).
func Builds(role, ref string) bool {
	if role == Backend {
		return strings.HasPrefix(ref, BackendRepo+":")
	}
	return ref == Default.Ref(role)
}

// Option configures Ensure.
type Option func(*builder)

// WithLogger sets the logger for build progress (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(b *builder) { b.log = l } }

// WithProgress sends the output of slow steps (debootstrap) to w.
func WithProgress(w io.Writer) Option { return func(b *builder) { b.progress = w } }

// WithSourceDir names the loadlab source tree the Go images are built from
// (default: found by walking up from the working directory, or LOADLAB_SOURCE).
func WithSourceDir(dir string) Option { return func(b *builder) { b.srcDir = dir } }

// WithCacheDir sets where downloaded packages and built binaries are kept
// (default $XDG_CACHE_HOME/loadlab, or LOADLAB_CACHE).
func WithCacheDir(dir string) Option { return func(b *builder) { b.cacheDir = dir } }

// WithForce rebuilds even when the recipe label matches.
func WithForce() Option { return func(b *builder) { b.force = true } }

type builder struct {
	docker   *client.Client
	log      *slog.Logger
	progress io.Writer
	srcDir   string
	cacheDir string
	force    bool
}

// What Ensure did for one image.
const (
	StateBuilt        = "built"
	StateUpToDate     = "up to date"
	StateFailed       = "failed"
	StateNotAttempted = "not attempted" // another image failed first
	StateExternal     = "external"      // not ours: Docker pulls it if missing
)

// Report says what Ensure did for one image.
type Report struct {
	Role    string
	Ref     string
	ID      string
	State   string // one of the State constants
	Err     error  // why it failed; for StateNotAttempted, the other image's failure
	Built   bool   // State == StateBuilt
	Elapsed time.Duration
}

// Ensure makes sure every image of s exists locally and is up to date with
// its recipe, building what is missing or stale. Concurrent calls, also from
// other processes (go test runs packages in parallel), wait for each other.
func Ensure(ctx context.Context, s Set, opts ...Option) ([]Report, error) {
	b := &builder{log: slog.Default()}
	for _, o := range opts {
		o(b)
	}
	if b.cacheDir == "" {
		b.cacheDir = CacheDir()
	}
	if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("images: cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(b.cacheDir, "images.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	docker, err := NewDockerClient(ctx)
	if err != nil {
		return nil, err
	}
	defer docker.Close()
	b.docker = docker

	reports := make([]Report, len(Roles()))
	var (
		mu    sync.Mutex
		first error // the first failure, which stops the others
	)
	g, gctx := errgroup.WithContext(ctx)
	for i, role := range Roles() {
		ref := s.Ref(role)
		reports[i] = Report{Role: role, Ref: ref, State: StateExternal}
		if !Builds(role, ref) {
			// Not ours: use it as it is (testcontainers pulls it if missing).
			continue
		}
		g.Go(func() error {
			start := time.Now()
			id, built, err := b.ensure(gctx, role, ref)
			mu.Lock()
			defer mu.Unlock()
			r := &reports[i]
			r.ID, r.Built, r.Elapsed, r.Err = id, built, time.Since(start), err
			switch {
			case err == nil && built:
				r.State = StateBuilt
			case err == nil:
				r.State = StateUpToDate
			case first != nil && gctx.Err() != nil && ctx.Err() == nil:
				r.State, r.Err = StateNotAttempted, fmt.Errorf("stopped: %w", first)
			default:
				r.State = StateFailed
				if first == nil {
					first = fmt.Errorf("%s failed", role)
				}
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return reports, err
	}
	b.pruneReplaced(ctx)
	return reports, nil
}

// pruneReplaced removes the lab's images that a rebuild left untagged, so
// that each change of a recipe does not leave its old image behind (the
// Debian ones are 370 MB). Docker keeps any image a container still uses,
// and the filter keeps it to images labelled as the lab's. Failing costs
// only disk, so it is logged, not returned.
func (b *builder) pruneReplaced(ctx context.Context) {
	res, err := b.docker.ImagePrune(ctx, client.ImagePruneOptions{
		Filters: make(client.Filters).Add("dangling", "true").Add("label", LabelLab+"=true"),
	})
	if err != nil {
		b.log.Warn("images: could not remove replaced images", "err", err)
		return
	}
	if n := len(res.Report.ImagesDeleted); n > 0 {
		b.log.Debug("images: removed replaced images", "layers", n, "reclaimed_bytes", res.Report.SpaceReclaimed)
	}
}

func (b *builder) ensure(ctx context.Context, role, ref string) (id string, built bool, err error) {
	switch role {
	case Postgres, Redis:
		return b.ensureDebian(ctx, role)
	case Toxiproxy:
		return b.ensureGo(ctx, toxiproxyRecipe, ref)
	case Backend:
		return b.ensureGo(ctx, backendRecipe, ref)
	}
	return "", false, fmt.Errorf("images: unknown role %q", role)
}

// upToDate returns the image id when ref exists with the given recipe hash.
func (b *builder) upToDate(ctx context.Context, ref, hash string) (string, bool, error) {
	img, err := b.docker.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("images: inspect %s: %w", ref, err)
	}
	if b.force || img.Config == nil || img.Config.Labels[LabelRecipe] != hash {
		return img.ID, false, nil
	}
	return img.ID, true, nil
}

// NewDockerClient connects to the Docker engine named by the environment
// (DOCKER_HOST, or the local socket) and checks that it answers.
func NewDockerClient(ctx context.Context) (*client.Client, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("images: docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, fmt.Errorf("images: docker engine not reachable (is it running? DOCKER_HOST=%q): %w", os.Getenv("DOCKER_HOST"), err)
	}
	return c, nil
}

// CacheDir is where loadlab keeps downloaded packages and built binaries.
func CacheDir() string {
	if d := os.Getenv("LOADLAB_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "loadlab")
	}
	return filepath.Join(os.TempDir(), "loadlab-cache")
}

func hashOf(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// lockFile takes an exclusive flock, polling so that ctx can cancel the wait.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("images: lock: %w", err)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("images: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("images: waiting for another build: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// drainJSON reads a Docker JSON message stream (build, import) to its end and
// returns the first error it reports; progress lines go to log.
func drainJSON(r io.Reader, log func(string)) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Stream      string `json:"stream"`
			Status      string `json:"status"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading docker output: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if s := strings.TrimSpace(m.Stream + m.Status); s != "" && log != nil {
			log(s)
		}
	}
}
