package awswire

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Counter counts the requests each operation of a service received, two
// ways: every attempt on the wire (throttled and retried ones included), and
// operations, which count an SDK's retries of one operation once. The AWS
// SDKs number the attempts of an operation in the amz-sdk-request header
// ("attempt=2; max=3" for the first retry); a request without it counts as
// an operation of its own. A client's transport retry (a connection lost
// mid-answer) is an attempt, not an operation, so a test of how many calls a
// design makes reads Operations.
type Counter struct {
	mu    sync.Mutex
	calls map[string]int
	ops   map[string]int
}

// Count counts request r of operation name.
func (c *Counter) Count(name string, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls, c.ops = map[string]int{}, map[string]int{}
	}
	c.calls[name]++
	if !retried(r.Header.Get("amz-sdk-request")) {
		c.ops[name]++
	}
}

// retried reports whether an amz-sdk-request header names an attempt after
// the first.
func retried(header string) bool {
	for part := range strings.SplitSeq(header, ";") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			return n != "1"
		}
	}
	return false
}

// Calls returns how many attempts each operation received.
func (c *Counter) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// Operations returns how many operations each operation name received, an
// SDK's retries of one counted once.
func (c *Counter) Operations() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ops)
}
