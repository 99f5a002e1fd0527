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

	"github.com/moby/moby/client"
)

// goRecipe is a static Go binary in a FROM scratch image.
type goRecipe struct {
	role       string
	pkg        string // Go package to build, relative to the loadlab module
	binary     string // name inside the image
	dockerfile string
}

// toxiproxyRecipe mirrors the upstream image: FROM scratch, ENTRYPOINT
// /toxiproxy, listening on every interface of the container.
var toxiproxyRecipe = goRecipe{
	role:   Toxiproxy,
	pkg:    "github.com/Shopify/toxiproxy/v2/cmd/server", // pinned by the tool directive in go.mod
	binary: "toxiproxy",
	dockerfile: `FROM scratch
COPY toxiproxy /toxiproxy
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
`,
}

var backendRecipe = goRecipe{
	role:   Backend,
	pkg:    "./cmd/backend",
	binary: "backend",
	dockerfile: `FROM scratch
COPY backend /backend
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/backend"]
`,
}

// ensureGo builds the recipe's binary (a no-op for the Go build cache when
// nothing changed) and rebuilds the image only when the binary or the
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
	// One binary per image: two tags of the backend built at once (two work
	// trees, or base and head of an A/B gate) must not share an output file.
	bin := filepath.Join(b.cacheDir, "bin", r.binary+"-"+hashOf([]byte(ref), []byte(src)))
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, r.pkg)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("images: go build %s: %w\n%s", r.pkg, err, out)
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		return "", false, fmt.Errorf("images: %w", err)
	}
	hash := hashOf([]byte(r.dockerfile), binData)
	if id, ok, err := b.upToDate(ctx, ref, hash); err != nil || ok {
		return id, false, err
	}
	b.log.Info("images: building", "image", ref, "go_build", time.Since(start).Round(time.Millisecond))
	id, err := b.build(ctx, ref, hash,
		tarFile{"Dockerfile", 0o644, []byte(r.dockerfile)},
		tarFile{r.binary, 0o755, binData},
	)
	return id, err == nil, err
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

// sourceDir finds the loadlab source tree: LOADLAB_SOURCE, or the first
// directory upwards from the working directory whose go.mod is loadlab's.
func (b *builder) sourceDir() (string, error) {
	if b.srcDir != "" {
		return b.srcDir, nil
	}
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
