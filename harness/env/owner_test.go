package env

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/images"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// deadOwner returns the labels of a process of ours that has exited.
func deadOwner(t *testing.T) map[string]string {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	l := self().labels()
	l[LabelPID], l[LabelStart] = strconv.Itoa(pid), startTime(pid)
	cmd.Process.Kill()
	cmd.Wait()
	return l
}

func TestOrphaned(t *testing.T) {
	if self().boot == "" || self().pidns == "" || self().start == "" {
		t.Fatalf("cannot read this process's identity: %+v", self())
	}
	with := func(l map[string]string, k, v string) map[string]string {
		c := map[string]string{}
		for k, v := range l {
			c[k] = v
		}
		if v == "" {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	dead := deadOwner(t)
	me := self().labels()
	parent := with(me, LabelPID, strconv.Itoa(os.Getppid()))
	parent[LabelStart] = startTime(os.Getppid())
	for name, tc := range map[string]struct {
		labels map[string]string
		want   bool
	}{
		"this process":                   {me, false},
		"a live process":                 {parent, false},
		"a dead process":                 {dead, true},
		"a reused pid (other start)":     {with(parent, LabelStart, "1"), true},
		"our pid, an earlier process":    {with(me, LabelStart, "1"), true},
		"dead, another pid namespace":    {with(dead, LabelPIDNS, "4026500000"), false},
		"dead, another boot or machine":  {with(dead, LabelBoot, "00000000-0000-0000-0000-000000000000"), false},
		"no start time (older loadlab)":  {with(dead, LabelStart, ""), false},
		"no pid namespace (older label)": {with(dead, LabelPIDNS, ""), false},
		"no labels (a test's own)":       {map[string]string{LabelLab: "true"}, false},
	} {
		if got := orphaned(tc.labels); got != tc.want {
			t.Errorf("%s: orphaned = %v, want %v (%v)", name, got, tc.want, tc.labels)
		}
	}
}

// TestCleanRemovesOnlyTheProvablyDead creates two stopped containers
// whose owner is dead, one in our pid namespace and one "in another" (as a
// CI job sharing the daemon would be): Clean removes the first only.
func TestCleanRemovesOnlyTheProvablyDead(t *testing.T) {
	if testing.Short() {
		t.Skip("creates containers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		t.Skipf("no docker: %v", err)
	}
	defer docker.Close()
	ref := images.FromEnv(images.Default).Toxiproxy
	if _, err := docker.ImageInspect(ctx, ref); err != nil {
		t.Skipf("image %s missing: %v", ref, err)
	}
	run := NewRunID()
	dead := deadOwner(t)
	dead[LabelLab], dead[LabelRun] = "true", run
	foreign := map[string]string{}
	for k, v := range dead {
		foreign[k] = v
	}
	foreign[LabelPIDNS] = "4026500000"
	ids := map[string]string{}
	for name, labels := range map[string]map[string]string{"ours": dead, "foreign": foreign} {
		c, err := docker.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{Image: ref, Labels: labels}, Name: "loadlab-" + run + "-" + name,
		})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = c.ID
	}
	t.Cleanup(func() {
		for _, id := range ids {
			docker.ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true})
		}
	})
	if _, _, err := Clean(ctx, false); err != nil {
		t.Fatal(err)
	}
	exists := func(id string) bool {
		_, err := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		return err == nil
	}
	if exists(ids["ours"]) {
		t.Error("Clean left the container of a dead process of our pid namespace")
	}
	if !exists(ids["foreign"]) {
		t.Error("Clean removed the container of another pid namespace: it cannot know that owner is dead")
	}
}
