package load

import (
	"net/http"
	"sync"

	"github.com/loadlab/loadlab/harness/history"
)

// validators is a conditional stream's client cache (Stream.Conditional):
// per URL, the ETag of its last 200 and the value that came with it. The
// stream is one client: every hit on a URL revalidates the copy any
// earlier hit fetched.
type validators struct {
	mu    sync.Mutex
	byURL map[string]validator
}

type validator struct {
	etag  string
	value history.Value
}

func newValidators() *validators { return &validators{byURL: map[string]validator{}} }

// conditionalHeader is the header of a request for url: If-None-Match
// with the ETag held for it, or nil when none is held.
func (v *validators) conditionalHeader(url string) http.Header {
	v.mu.Lock()
	held, ok := v.byURL[url]
	v.mu.Unlock()
	if !ok {
		return nil
	}
	return http.Header{"If-None-Match": {held.etag}}
}

// record takes in a response to url: a 200 with an ETag replaces the copy
// held (a 200 without one drops it: there is nothing to revalidate); a 304
// whose ETag is the one held returns the held value, revalidated. Any other
// answer leaves the cache and value as they are.
func (v *validators) record(url string, code uint16, etag string, value history.Value) (history.Value, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch code {
	case http.StatusOK:
		if etag == "" {
			delete(v.byURL, url)
		} else {
			v.byURL[url] = validator{etag: etag, value: value}
		}
	case http.StatusNotModified:
		// A 304 may leave out the ETag (RFC 9110 15.4.5 only asks for it
		// when a 200 would have sent it): the one sent is then implied.
		if held, ok := v.byURL[url]; ok && (etag == "" || etag == held.etag) {
			return held.value, true
		}
		return history.NoValue, false
	}
	return value, false
}
