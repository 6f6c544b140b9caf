package lambda

import (
	"context"
	"testing"
	"time"
)

// Fault injection crashes the function mid-invocation by the trace its AWS
// calls carry: the invocation must fail as a crashed process does, and the
// next one must start cold; an unknown trace kills nothing.
func TestKillInvocationCrashesTheRunningInvocation(t *testing.T) {
	// The invocation sleeps, and may run, for longer than any test: only
	// the kill ends it, however late the test comes to kill it.
	f := newEcho(t, FunctionConfig{Timeout: 15 * time.Minute})
	trace := "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
	type result struct {
		res InvokeResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := f.Invoke(context.Background(), []byte(`{"sleep":"15m"}`), InvokeOptions{TraceHeader: trace})
		done <- result{res, err}
	}()
	waitFor(t, "the invocation to be running", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for e := range f.live {
			e.mu.Lock()
			running := e.current != nil
			e.mu.Unlock()
			if running {
				return true
			}
		}
		return false
	})
	if f.KillInvocation("Root=1-00000000-000000000000000000000000") {
		t.Fatal("KillInvocation of an unknown trace killed something")
	}
	// The SDK percent-encodes the header it copies from _X_AMZN_TRACE_ID.
	if !f.KillInvocation("Root%3D1-5759e988-bd862e3fe1be46a994272793%3BParent%3D53995c3f42cd8ad8") {
		t.Fatal("KillInvocation found no invocation for the running trace")
	}
	r := <-done
	if r.err != nil || r.res.FunctionError == nil || r.res.FunctionError.Type != "Runtime.ExitError" {
		t.Fatalf("killed invocation = %+v, %v; want a Runtime.ExitError", r.res.FunctionError, r.err)
	}
	if next := invoke(t, f, `{}`); !next.ColdStart {
		t.Errorf("the invocation after a kill was warm, want a cold start")
	}
	// The kill is on record by the trace's Root, what a request of the
	// killed invocation carried, for a harness to tell which calls'
	// callers died.
	if k := f.Kills(); len(k) != 1 || k[0].Root != TraceRoot(trace) || k[0].Root != "1-5759e988-bd862e3fe1be46a994272793" || k[0].At.IsZero() {
		t.Errorf("Kills() = %+v, want the one kill of Root 1-5759e988-bd862e3fe1be46a994272793", k)
	}
}
