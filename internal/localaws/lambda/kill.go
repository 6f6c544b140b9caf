package lambda

// KillInvocation kills the execution environment running the invocation
// whose trace header is trace, as the drainer's SDK sends it in
// X-Amzn-Trace-Id: fault injection uses it to crash the function in the
// middle of a drain, before or after one of its AWS calls. The invocation
// then fails as a crashed process does on AWS (Runtime.ExitError) and the
// next one starts cold. It reports whether such an invocation was running.
// Invocations are matched on the trace's Root: a chain of invocations shares
// it, and only one of them runs at a time.
func (f *Function) KillInvocation(trace string) bool {
	root := parseTrace(trace).values["Root"]
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
	return true
}
