package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
)

// TestEnsureRemovesReplacedImages: an image of the lab left untagged by a
// rebuild is removed by the next Ensure; an untagged image that is not the
// lab's is left alone.
func TestEnsureRemovesReplacedImages(t *testing.T) {
	labtest.Images(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()

	// Each pair: build, then build again under the same tag, which leaves
	// the first untagged.
	const ours, theirs = "loadlab/prune-test:latest", "loadlab-prune-test-not-ours:latest"
	oursOld := buildScratch(t, docker, ours, map[string]string{images.LabelLab: "true", "v": "old"})
	buildScratch(t, docker, ours, map[string]string{images.LabelLab: "true", "v": "new"})
	theirsOld := buildScratch(t, docker, theirs, map[string]string{"v": "old"})
	buildScratch(t, docker, theirs, map[string]string{"v": "new"})
	t.Cleanup(func() {
		for _, ref := range []string{ours, theirs, theirsOld} {
			_, _ = docker.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	})

	if _, err := images.Ensure(ctx, images.Default); err != nil {
		t.Fatal(err)
	}
	if _, err := docker.ImageInspect(ctx, oursOld); !cerrdefs.IsNotFound(err) {
		t.Errorf("the lab's replaced image %s is still there (err %v)", oursOld, err)
	}
	if _, err := docker.ImageInspect(ctx, theirsOld); err != nil {
		t.Errorf("an untagged image that is not the lab's was removed: %v", err)
	}
}

// buildScratch builds a layerless image FROM scratch with labels and a tag,
// and returns its id.
func buildScratch(t *testing.T, docker *client.Client, ref string, labels map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dockerfile := []byte("FROM scratch\nLABEL loadlab.prune-test=true\n")
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(dockerfile); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := docker.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{ref}, Labels: labels, Remove: true})
	if err != nil {
		t.Fatalf("build %s: %v", ref, err)
	}
	var out bytes.Buffer
	_, rerr := out.ReadFrom(res.Body)
	res.Body.Close()
	if rerr != nil {
		t.Fatalf("build %s: %v", ref, rerr)
	}
	img, err := docker.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("build %s: %v\n%s", ref, err, out.String())
	}
	return img.ID
}
