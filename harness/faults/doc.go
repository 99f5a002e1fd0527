// Package faults drives a scenario's fault schedule through toxiproxy.
//
// The pipeline: NewSchedule translates each scenarios.Fault into one action
// pair on one proxy (add/remove a toxic, or disable/enable the proxy for
// "down"); Run applies every fault at T0+At and removes it at T0+At+For, each
// fault on its own goroutine so that overlapping faults keep their own
// timing. Every control-plane call runs under its own deadline because the
// toxiproxy client takes no context and toxic removal has been seen to hang
// under load. Run records what really happened — when each toxic was in
// place, how long the API took, what failed — as results.FaultWindow, so a
// report can show the planned and the actual fault side by side.
//
// When Run's context ends, every fault still active is removed under a fresh
// deadline before Run returns: a run must never leave a link broken. Reset
// is the blunt instrument for between variants and teardown: it clears every
// toxic and re-enables every proxy of the lab.
package faults
