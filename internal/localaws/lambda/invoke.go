package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Invoke runs one synchronous invocation. A function error is a result, not
// an error; the error is for an invocation that did not complete: a
// recursive loop stopped (ErrRecursiveInvocation), ctx done, a closed
// function, or a binary that cannot start.
func (f *Function) Invoke(ctx context.Context, payload []byte, o InvokeOptions) (InvokeResult, error) {
	traceHeader, hop := invocationTrace(o.TraceHeader, f.hash, f.now())
	if hop >= maxChainInvocations && f.cfg.RecursiveLoop == RecursiveLoopTerminate {
		f.mu.Lock()
		f.stats.RecursionStops++
		f.mu.Unlock()
		return InvokeResult{TraceHeader: traceHeader}, ErrRecursiveInvocation
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return InvokeResult{}, ctx.Err()
	}
	defer func() { <-f.slots }()

	inv := &invocation{id: newRequestID(), payload: payload, trace: traceHeader,
		taken: make(chan struct{}), done: make(chan outcome, 1)}
	for {
		e, cold, err := f.acquire()
		if err != nil {
			return InvokeResult{}, err
		}
		res, delivered, err := f.run(ctx, e, cold, inv)
		// A warm process that died after its last invocation (a panic
		// exits once the error is posted) never took this one: Lambda
		// would simply use a fresh environment.
		if delivered || cold || err != nil {
			return res, err
		}
	}
}

// run hands inv to e and waits for its outcome. delivered reports whether
// e took the invocation.
func (f *Function) run(ctx context.Context, e *environment, cold bool, inv *invocation) (res InvokeResult, delivered bool, err error) {
	var initExpired <-chan time.Time
	if cold {
		t := time.NewTimer(initTimeout)
		defer t.Stop()
		initExpired = t.C
	}
	select {
	case e.invocations <- inv:
	case <-e.exited:
		f.discard(e)
		if !cold {
			return InvokeResult{}, false, nil
		}
		return f.finish(e, inv, cold, outcome{err: e.exitError(inv.id)}, 0, false), false, nil
	case <-initExpired:
		e.kill()
		f.discard(e)
		return f.finish(e, inv, cold, outcome{err: &FunctionError{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: INIT phase timed out after %.2f seconds", inv.id, initTimeout.Seconds())}}, 0, true), false, nil
	case <-ctx.Done():
		f.release(e)
		return InvokeResult{}, false, ctx.Err()
	}
	<-inv.taken
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	var out outcome
	timedOut := false
	select {
	case out = <-inv.done:
	case <-e.exited:
		select {
		case out = <-inv.done: // answered, then exited, as after a panic
		default:
			out = outcome{err: e.exitError(inv.id)}
		}
	case <-timer.C:
		e.kill()
		timedOut = true
		out = outcome{err: &FunctionError{Type: "Sandbox.Timedout",
			Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, f.cfg.Timeout.Seconds())}}
	case <-ctx.Done():
		e.kill()
		f.discard(e)
		return InvokeResult{}, true, ctx.Err()
	}
	duration := f.now().Sub(inv.start)
	if timedOut {
		duration = f.cfg.Timeout
	}
	if e.alive() {
		f.release(e)
	} else {
		f.discard(e)
	}
	return f.finish(e, inv, cold, out, duration, timedOut), true, nil
}

// finish turns an outcome into the result, its log lines and its counts.
func (f *Function) finish(e *environment, inv *invocation, cold bool, out outcome, duration time.Duration, timedOut bool) InvokeResult {
	billed := duration
	if r := billed % time.Millisecond; r != 0 {
		billed += time.Millisecond - r
	}
	payload := out.payload
	if out.err != nil && payload == nil {
		payload, _ = json.Marshal(errorBody{ErrorMessage: out.err.Message, ErrorType: out.err.Type})
	}
	if !inv.start.IsZero() {
		e.logs.line(endPrefix + inv.id)
		report := fmt.Sprintf(reportPrefix+"%s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB",
			inv.id, float64(duration)/float64(time.Millisecond), billed/time.Millisecond, f.cfg.MemoryMB)
		if cold {
			report += fmt.Sprintf("\tInit Duration: %.2f ms", float64(initDuration(e, inv))/float64(time.Millisecond))
		}
		if timedOut {
			report += "\tStatus: timeout"
		}
		e.logs.line(report)
	}
	f.mu.Lock()
	f.stats.Invocations++
	if out.err != nil {
		f.stats.Errors++
	}
	if timedOut {
		f.stats.Timeouts++
	}
	if cold {
		f.stats.ColdStarts++
		if !inv.start.IsZero() {
			f.stats.Inits = append(f.stats.Inits, initDuration(e, inv))
		}
	}
	f.stats.BilledDuration += billed
	f.mu.Unlock()
	return InvokeResult{
		Payload:        payload,
		FunctionError:  out.err,
		RequestID:      inv.id,
		Duration:       duration,
		BilledDuration: billed,
		ColdStart:      cold,
		TraceHeader:    inv.trace,
		LogTail:        e.logs.takeTail(),
	}
}

// initDuration is a cold start's Init Duration: from the process's start to
// its first request for an invocation, the runtime's and the function's
// init.
func initDuration(e *environment, inv *invocation) time.Duration { return inv.start.Sub(e.started) }
