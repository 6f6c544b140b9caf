package lambda

import (
	"slices"
	"time"
)

// KillInvocation kills the execution environment running the invocation
// whose trace header is trace, as the drainer's SDK sends it in
// X-Amzn-Trace-Id: fault injection uses it to crash the function in the
// middle of a drain, before or after one of its AWS calls. The invocation
// then fails as a crashed process does on AWS (Runtime.ExitError) and the
// next one starts cold. It reports whether such an invocation was running.
// Invocations are matched on the trace's Root: a chain of invocations shares
// it, and only one of them runs at a time.
func (f *Function) KillInvocation(trace string) bool {
	root := TraceRoot(trace)
	if root == "" {
		return false
	}
	f.mu.Lock()
	var victim *environment
	for e := range f.live {
		e.mu.Lock()
		if e.current != nil && parseTrace(e.current.trace).values["Root"] == root {
			victim = e
		}
		e.mu.Unlock()
	}
	f.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.kill()
	f.mu.Lock()
	f.kills = append(f.kills, Kill{Root: root, At: f.now()})
	f.mu.Unlock()
	return true
}

// Kill is an invocation KillInvocation killed: its trace's Root, and when.
type Kill struct {
	Root string
	At   time.Time
}

// Kills returns the invocations killed so far, in order.
func (f *Function) Kills() []Kill {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.kills)
}

// TraceRoot is the Root of an X-Amzn-Trace-Id header, which names the
// invocation (and the chain of invocations it belongs to) that sent a
// request: what KillInvocation and Kills go by.
func TraceRoot(header string) string {
	return parseTrace(header).values["Root"]
}
