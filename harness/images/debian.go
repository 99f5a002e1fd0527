package images

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// The Debian recipe. Changing any of these texts changes the recipe hash and
// so rebuilds the images on the next Ensure.
const (
	debianSuite    = "bookworm"
	debianPackages = "postgresql-15,redis-server"
	debianBaseRef  = "loadlab/debian-db:bookworm"
)

// debianTrim lists what the servers never read: package caches, docs,
// manuals, translations, and the cluster Debian's postinst creates.
var debianTrim = []string{
	"var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
	"usr/share/info", "usr/share/locale", "usr/share/lintian", "var/log",
	"var/lib/postgresql/15", "etc/postgresql/15",
}

// postgresEntrypoint honours what the official image honours
// (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA, "postgres ARGS")
// without a temporary server: the database is created in single-user mode,
// so "ready to accept connections" is logged exactly once.
const postgresEntrypoint = `#!/bin/sh
set -eu
PGBIN=/usr/lib/postgresql/15/bin
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA
if [ "${1:-}" = "postgres" ]; then shift; fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	auth=trust
	pwfile=/tmp/pwfile
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		auth=scram-sha-256
		printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
		"$PGBIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" -E UTF8 --no-locale --auth-local=trust --auth-host=$auth --pwfile="$pwfile" >/dev/null
		rm -f "$pwfile"
	else
		"$PGBIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" -E UTF8 --no-locale --auth-local=trust --auth-host=trust >/dev/null
	fi
	echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
	echo "host all all all $auth" >> "$PGDATA/pg_hba.conf"
	if [ "$POSTGRES_DB" != "postgres" ]; then
		echo "CREATE DATABASE \"$POSTGRES_DB\"" | "$PGBIN/postgres" --single -D "$PGDATA" postgres >/dev/null
	fi
	echo "loadlab: initialised $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"
fi
exec "$PGBIN/postgres" -D "$PGDATA" "$@"
`

const postgresDockerfile = `FROM ` + debianBaseRef + `
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin
USER postgres
WORKDIR /var/lib/postgresql
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
`

// The official redis image's entrypoint also takes redis-server flags as
// arguments, so the harness passes the same flags to either image.
const redisDockerfile = `FROM ` + debianBaseRef + `
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
ENTRYPOINT ["redis-server"]
CMD ["--protected-mode", "no", "--bind", "0.0.0.0"]
`

func debianBaseHash() string {
	return hashOf([]byte(debianSuite), []byte(debianPackages), []byte(strings.Join(debianTrim, ",")), []byte("v1"))
}

// ensureDebian builds the shared base image (once) and the role's image on it.
func (b *builder) ensureDebian(ctx context.Context, role string) (string, bool, error) {
	baseHash := debianBaseHash()
	var dockerfile string
	var files []tarFile
	switch role {
	case Postgres:
		dockerfile = postgresDockerfile
		files = []tarFile{{"postgres-entrypoint.sh", 0o755, []byte(postgresEntrypoint)}}
	case Redis:
		dockerfile = redisDockerfile
	}
	ref := Default.Ref(role)
	hash := hashOf([]byte(baseHash), []byte(dockerfile), []byte(postgresEntrypoint))
	if id, ok, err := b.upToDate(ctx, ref, hash); err != nil || ok {
		return id, false, err
	}
	if err := b.ensureDebianBase(ctx, baseHash); err != nil {
		return "", false, err
	}
	b.log.Debug("images: building", "image", ref)
	id, err := b.build(ctx, ref, hash, append(files, tarFile{"Dockerfile", 0o644, []byte(dockerfile)})...)
	return id, err == nil, err
}

// ensureDebianBase runs debootstrap once for both roles: the first caller
// builds, the second finds the image up to date.
func (b *builder) ensureDebianBase(ctx context.Context, hash string) error {
	debianOnce.Lock()
	defer debianOnce.Unlock()
	if _, ok, err := b.upToDate(ctx, debianBaseRef, hash); err != nil || ok {
		return err
	}
	if err := b.ensureDebootstrap(ctx); err != nil {
		return err
	}
	mirror, err := debianMirror()
	if err != nil {
		return err
	}
	start := time.Now()
	rootfs, err := os.MkdirTemp(b.cacheDir, "rootfs-")
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	defer os.RemoveAll(rootfs)
	debs := filepath.Join(b.cacheDir, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	b.log.Info("images: building the Debian base for Postgres and Redis with debootstrap (first time only, 2 to 3 minutes; packages are kept in the cache)", "mirror", mirror)
	prog := newBaseProgress(b.progress, debs)
	defer prog.done()
	args := []string{"--variant=minbase", "--include=" + debianPackages, "--cache-dir=" + debs, debianSuite, rootfs, mirror}
	if err := runLines(ctx, prog.debootstrapLine, "debootstrap", args...); err != nil {
		return fmt.Errorf("images: debootstrap: %w", err)
	}
	for _, p := range debianTrim {
		if err := os.RemoveAll(filepath.Join(rootfs, p)); err != nil {
			return fmt.Errorf("images: trim: %w", err)
		}
	}
	// Directories the servers write to, owned by their users inside the rootfs.
	if err := runLines(ctx, nil, "chroot", rootfs, "sh", "-c",
		"install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data && "+
			"install -d -o postgres -g postgres -m 2775 /var/run/postgresql && "+
			"install -d -o redis -g redis /var/lib/redis && install -d -m 0755 /var/log"); err != nil {
		return fmt.Errorf("images: prepare rootfs: %w", err)
	}
	prog.setStage("importing into Docker")
	b.log.Debug("images: importing the Debian base", "image", debianBaseRef, "debootstrap", time.Since(start).Round(time.Second))
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", rootfs, "-cf", "-", ".")
	out, err := tar.StdoutPipe()
	if err != nil {
		return fmt.Errorf("images: tar: %w", err)
	}
	if err := tar.Start(); err != nil {
		return fmt.Errorf("images: tar: %w", err)
	}
	res, err := b.docker.ImageImport(ctx, client.ImageImportSource{Source: out, SourceName: "-"}, debianBaseRef,
		client.ImageImportOptions{Changes: []string{
			"LABEL " + LabelLab + "=true " + LabelRecipe + "=" + hash,
			`CMD ["/bin/sh"]`,
		}})
	if err != nil {
		tar.Process.Kill()
		tar.Wait()
		return fmt.Errorf("images: import: %w", err)
	}
	ierr := drainJSON(res, nil)
	res.Close()
	if err := tar.Wait(); err != nil {
		return fmt.Errorf("images: tar: %w", err)
	}
	if ierr != nil {
		return fmt.Errorf("images: import: %w", ierr)
	}
	b.log.Debug("images: Debian base ready", "image", debianBaseRef, "took", time.Since(start).Round(time.Second))
	return nil
}

// runLines runs a command and hands each line of its output to onLine (if
// not nil); a failure's error carries the last lines.
func runLines(ctx context.Context, onLine func(string), name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if lines = append(lines, sc.Text()); len(lines) > 20 {
				lines = lines[1:]
			}
			if onLine != nil {
				onLine(sc.Text())
			}
		}
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	if err != nil {
		return fmt.Errorf("%w\n%s", err, strings.Join(lines, "\n"))
	}
	return nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// debianMirror reads the first Debian mirror from the machine's apt sources,
// so no host is hard-coded. LOADLAB_DEBIAN_MIRROR overrides it.
func debianMirror() (string, error) {
	if m := os.Getenv("LOADLAB_DEBIAN_MIRROR"); m != "" {
		return m, nil
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, stanza := range strings.Split(string(data), "\n\n") {
			if !strings.Contains(stanza, "Suites: "+debianSuite) && !strings.Contains(stanza, "Suites:  "+debianSuite) {
				continue
			}
			for _, line := range strings.Split(stanza, "\n") {
				if u, ok := strings.CutPrefix(strings.TrimSpace(line), "URIs:"); ok {
					if fs := strings.Fields(u); len(fs) > 0 && !strings.Contains(fs[0], "security") {
						return fs[0], nil
					}
				}
			}
		}
	}
	if data, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			fs := strings.Fields(line)
			if len(fs) >= 3 && fs[0] == "deb" && fs[2] == debianSuite {
				return fs[1], nil
			}
		}
	}
	return "", errors.New("images: no Debian " + debianSuite + " mirror in /etc/apt/sources.list(.d): set LOADLAB_DEBIAN_MIRROR")
}

// debianOnce serialises the base build between the Postgres and Redis roles.
var debianOnce sync.Mutex
