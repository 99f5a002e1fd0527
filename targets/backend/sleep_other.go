//go:build !linux

package backend

import "time"

// sleepThread falls back to a Go timer where nanosleep(2) is not at hand:
// the backend runs on Linux in its container; elsewhere it only builds.
func sleepThread(d time.Duration) { time.Sleep(d) }
