package backend

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepThread blocks the calling thread for d in nanosleep(2): the kernel
// wakes it within its timer slack, where a Go timer would wait for the
// runtime's next millisecond tick. The runtime hands the thread's
// processor to other goroutines meanwhile, as for any blocking system call.
func sleepThread(d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
