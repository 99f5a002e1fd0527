package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/loadlab/loadlab/harness/supervise"
	"github.com/moby/moby/client"
)

// goRecipe is static Go binaries in a FROM scratch image.
type goRecipe struct {
	role       string
	binaries   []goBinary
	dockerfile string
}

// goBinary is one binary of a recipe.
type goBinary struct {
	pkg  string // Go package to build, relative to the loadlab module
	name string // file name inside the image
	// lab is true for the lab's own machinery inside a target's image
	// (the supervisor): built from the lab's source tree even when the
	// target is built from another (a git ref's work tree, WithSourceDir).
	lab bool
}

// toxiproxyRecipe mirrors the upstream image: FROM scratch, ENTRYPOINT
// /toxiproxy, listening on every interface of the container.
var toxiproxyRecipe = goRecipe{
	role:     Toxiproxy,
	binaries: []goBinary{{pkg: "github.com/Shopify/toxiproxy/v2/cmd/server", name: "toxiproxy"}}, // pinned by the tool directive in go.mod
	dockerfile: `FROM scratch
COPY toxiproxy /toxiproxy
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
`,
}

// backendRecipe runs the backend under the lab's supervisor
// (harness/supervise), which lets an environment restart it in place
// instead of starting a new container; the label tells the environment
// where its control API listens.
var backendRecipe = goRecipe{
	role:     Backend,
	binaries: []goBinary{{pkg: "./cmd/backend", name: "backend"}, {pkg: "./cmd/supervise", name: "supervise", lab: true}},
	dockerfile: `FROM scratch
COPY backend /backend
COPY supervise /supervise
USER 65534:65534
EXPOSE 8080
LABEL ` + supervise.ControlPortLabel + `="` + supervisorPort + `/tcp"
ENTRYPOINT ["/supervise", "-control", ":` + supervisorPort + `", "--", "/backend"]
`,
}

// supervisorPort is the container port of the supervisor's control API in
// the lab's backend images (the environment reads it from their label).
const supervisorPort = "7999"

// ensureGo builds the recipe's binaries (a no-op for the Go build cache
// when nothing changed) and rebuilds the image only when a binary or the
// Dockerfile differ from what the image was built from.
func (b *builder) ensureGo(ctx context.Context, r goRecipe, ref string) (string, bool, error) {
	src, err := b.sourceDir()
	if err != nil {
		// Without the source tree an existing image is used as it is.
		if img, ierr := b.docker.ImageInspect(ctx, ref); ierr == nil {
			b.log.Warn("images: cannot check for changes, using the existing image", "image", ref, "reason", err)
			return img.ID, false, nil
		}
		return "", false, fmt.Errorf("images: build %s: %w", ref, err)
	}
	start := time.Now()
	files := []tarFile{{"Dockerfile", 0o644, []byte(r.dockerfile)}}
	hashed := [][]byte{[]byte(r.dockerfile)}
	for _, bin := range r.binaries {
		dir := src
		if bin.lab {
			if dir, err = b.labSourceDir(); err != nil {
				return "", false, fmt.Errorf("images: build %s: %w", ref, err)
			}
		}
		data, err := b.goBuild(ctx, dir, bin, ref)
		if err != nil {
			return "", false, err
		}
		files = append(files, tarFile{bin.name, 0o755, data})
		hashed = append(hashed, data)
	}
	hash := hashOf(hashed...)
	if id, ok, err := b.upToDate(ctx, ref, hash); err != nil || ok {
		return id, false, err
	}
	b.log.Info("images: building", "image", ref, "go_build", time.Since(start).Round(time.Millisecond))
	id, err := b.build(ctx, ref, hash, files...)
	return id, err == nil, err
}

// goBuild builds bin from the source tree at dir for ref's image and
// returns the binary.
func (b *builder) goBuild(ctx context.Context, dir string, bin goBinary, ref string) ([]byte, error) {
	// One binary per image: two tags of the backend built at once (two work
	// trees, or base and head of an A/B gate) must not share an output file.
	out := filepath.Join(b.cacheDir, "bin", bin.name+"-"+hashOf([]byte(ref), []byte(dir)))
	// No VCS stamp: the image changes with the code it runs, not with
	// every commit or edit elsewhere in the tree.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, bin.pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=mod")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("images: go build %s: %w\n%s", bin.pkg, err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return data, nil
}

// build runs a classic (non-BuildKit) docker build of files as the build
// context, labelled with the recipe hash, and returns the new image's id.
// It never pulls, so FROM scratch and FROM a local image work offline.
func (b *builder) build(ctx context.Context, ref, hash string, files ...tarFile) (string, error) {
	buildCtx, err := tarFiles(files...)
	if err != nil {
		return "", err
	}
	res, err := b.docker.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{ref},
		Labels:      map[string]string{LabelLab: "true", LabelRecipe: hash},
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
	})
	if err != nil {
		return "", fmt.Errorf("images: build %s: %w", ref, err)
	}
	defer res.Body.Close()
	if err := drainJSON(res.Body, func(s string) { b.log.Debug("images: build", "image", ref, "step", s) }); err != nil {
		return "", fmt.Errorf("images: build %s: %w", ref, err)
	}
	id, _, err := b.upToDate(ctx, ref, hash)
	return id, err
}

// tarFile is one file of an in-memory build context.
type tarFile struct {
	name string
	mode int64
	data []byte
}

func tarFiles(files ...tarFile) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("images: tar: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("images: tar: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("images: tar: %w", err)
	}
	return &buf, nil
}

// modulePath is the module whose source tree the Go images are built from.
const modulePath = "github.com/loadlab/loadlab"

// sourceDir is the source tree targets are built from: WithSourceDir's,
// or the lab's own.
func (b *builder) sourceDir() (string, error) {
	if b.srcDir != "" {
		return b.srcDir, nil
	}
	return b.labSourceDir()
}

// labSourceDir is the lab's own source tree, whatever WithSourceDir says:
// LOADLAB_SOURCE, or the first directory upwards from the working
// directory whose go.mod is loadlab's.
func (b *builder) labSourceDir() (string, error) {
	if d := os.Getenv("LOADLAB_SOURCE"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+modulePath+"\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("the loadlab source tree was not found above %s: run from it, set LOADLAB_SOURCE, or name a prebuilt image (LOADLAB_IMAGE_BACKEND, --image-backend)", wd)
		}
	}
}
