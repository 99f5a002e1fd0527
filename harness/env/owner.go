package env

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// Labels that name the process owning a container or network, so that a
// later run can prove the owner dead before it removes anything.
const (
	LabelHost  = "loadlab.host"  // hostname, for people reading docker ps
	LabelBoot  = "loadlab.boot"  // the kernel's boot id: pids only mean something within one boot
	LabelPIDNS = "loadlab.pidns" // the pid namespace: pids only mean something within one namespace
	LabelPID   = "loadlab.pid"   // pid of the owner
	LabelStart = "loadlab.start" // the owner's start time (clock ticks since boot): a reused pid has another
)

// owner identifies a process across the machines and pid namespaces that
// may share one Docker daemon.
type owner struct {
	host, boot, pidns, pid, start string
}

// self is this process.
var self = sync.OnceValue(func() owner {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return owner{host: host, boot: bootID(), pidns: pidNamespace(), pid: strconv.Itoa(pid), start: startTime(pid)}
})

func (o owner) labels() map[string]string {
	return map[string]string{LabelHost: o.host, LabelBoot: o.boot, LabelPIDNS: o.pidns, LabelPID: o.pid, LabelStart: o.start}
}

// selector is the label filter of everything this process owns.
func (o owner) selector() []string {
	return []string{LabelBoot + "=" + o.boot, LabelPIDNS + "=" + o.pidns, LabelPID + "=" + o.pid}
}

// orphaned reports whether labels name an owner that is provably gone:
// same kernel boot and pid namespace as ours (so its pid is one we can
// look up), and no process at that pid, or one started at another time.
// Anything it cannot judge is not orphaned.
func orphaned(labels map[string]string) bool {
	me := self()
	pid, start := labels[LabelPID], labels[LabelStart]
	if me.boot == "" || me.pidns == "" || labels[LabelBoot] != me.boot || labels[LabelPIDNS] != me.pidns || pid == "" || start == "" {
		return false
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return false
	}
	if pid == me.pid {
		return start != me.start // our pid, but an earlier process's
	}
	now := startTime(n)
	return now == "" || now != start
}

// bootID is the kernel's boot id ("" when unreadable).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pidNamespace is the inode of this process's pid namespace, e.g.
// "4026531836" ("" when unreadable).
func pidNamespace() string {
	l, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(l, "pid:["), "]")
}

// startTime is field 22 of /proc/PID/stat: when the process started, in
// clock ticks since boot ("" when there is no such process).
func startTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 3 is f[0]
}
