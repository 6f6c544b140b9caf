package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults, as CreateFunction has them.
const (
	defaultTimeout  = 3 * time.Second
	defaultMemoryMB = 128
	defaultRegion   = "us-east-1"
	// accountID matches the local AWS's account.
	accountID = "123456789012"
)

// initTimeout bounds a cold start until the runtime's first /next: "The Init
// phase is limited to 10 seconds" for on-demand functions.
const initTimeout = 10 * time.Second

// ErrRecursiveInvocation is Lambda's RecursiveInvocationException: the
// invocation was stopped as part of a recursive loop and did not run.
var ErrRecursiveInvocation = errors.New("RecursiveInvocationException: Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation")

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("lambda: function is closed")

// FunctionConfig configures a Function.
type FunctionConfig struct {
	Name   string
	Binary string // path to the bootstrap executable
	// Env is added to the Lambda environment, e.g. endpoints and DRAINER_*;
	// its entries win over Lambda's own. AWS_REGION in it sets the region of
	// the function's ARN.
	Env           []string
	Timeout       time.Duration // default 3 s
	MemoryMB      int           // default 128; reported, not enforced
	RecursiveLoop string        // "Allow" or "Terminate" (default, as on AWS)
	Concurrency   int           // execution environments at most; default 1
	Logs          io.Writer     // the function's stdout and stderr, line by line, plus START/END/REPORT
}

// InvokeOptions are the per-invocation inputs besides the payload.
type InvokeOptions struct {
	// TraceHeader is the X-Ray trace header the event carried (for SQS, the
	// message's AWSTraceHeader); empty starts a new trace.
	TraceHeader string
}

// InvokeResult is what a synchronous invoke returns.
type InvokeResult struct {
	// Payload is the response, or the error document when FunctionError is
	// set, as the Invoke API returns it.
	Payload        []byte
	FunctionError  *FunctionError
	RequestID      string
	Duration       time.Duration
	BilledDuration time.Duration // Duration rounded up to the millisecond
	ColdStart      bool
	// TraceHeader is the header the invocation ran with
	// (Lambda-Runtime-Trace-Id), its Lineage counting this invocation.
	TraceHeader string
	LogTail     string // the last 4 KB of log, as LogType Tail returns it
}

// FunctionError is a failed invocation: errorType and errorMessage of the
// error document.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Stats count what the function did.
type Stats struct {
	Invocations    int // invocations that reached an environment
	Errors         int // of those, the ones that ended in a function error
	Timeouts       int
	ColdStarts     int
	BilledDuration time.Duration
	RecursionStops int // invocations not run because of a recursive loop
}

// Function is a Lambda function backed by a bootstrap binary. It is safe for
// concurrent use.
type Function struct {
	cfg    FunctionConfig
	region string
	arn    string
	hash   string // the function's name in Lineage fields
	logs   *logSink
	slots  chan struct{} // one per running invocation, Concurrency in all

	mu     sync.Mutex
	idle   []*environment
	live   map[*environment]bool
	closed bool
	stats  Stats
}

// NewFunction validates cfg and returns a function with no environment yet:
// the first invoke is a cold start.
func NewFunction(cfg FunctionConfig) (*Function, error) {
	if cfg.Name == "" {
		return nil, errors.New("lambda: FunctionConfig.Name is required")
	}
	if info, err := os.Stat(cfg.Binary); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("lambda: FunctionConfig.Binary %q is not an executable file", cfg.Binary)
	}
	switch cfg.RecursiveLoop {
	case "":
		cfg.RecursiveLoop = RecursiveLoopTerminate
	case RecursiveLoopAllow, RecursiveLoopTerminate:
	default:
		return nil, fmt.Errorf("lambda: RecursiveLoop %q: want %s or %s", cfg.RecursiveLoop, RecursiveLoopAllow, RecursiveLoopTerminate)
	}
	if cfg.Timeout < 0 || cfg.MemoryMB < 0 || cfg.Concurrency < 0 {
		return nil, errors.New("lambda: Timeout, MemoryMB and Concurrency must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = defaultMemoryMB
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	if cfg.Logs == nil {
		cfg.Logs = io.Discard
	}
	region := defaultRegion
	for _, kv := range cfg.Env {
		if v, ok := strings.CutPrefix(kv, "AWS_REGION="); ok && v != "" {
			region = v
		}
	}
	arn := "arn:aws:lambda:" + region + ":" + accountID + ":function:" + cfg.Name
	return &Function{
		cfg:    cfg,
		region: region,
		arn:    arn,
		hash:   lineageHash(arn),
		logs:   &logSink{w: cfg.Logs},
		slots:  make(chan struct{}, cfg.Concurrency),
		live:   map[*environment]bool{},
	}, nil
}

// ARN is the function's ARN, as the runtime sees it in
// Lambda-Runtime-Invoked-Function-Arn.
func (f *Function) ARN() string { return f.arn }

// Stats returns the counters so far.
func (f *Function) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Close kills every execution environment and waits for the processes to
// exit. Invocations in progress fail; later ones return ErrClosed.
func (f *Function) Close() error {
	f.mu.Lock()
	f.closed = true
	envs := make([]*environment, 0, len(f.live))
	for e := range f.live {
		envs = append(envs, e)
	}
	f.live, f.idle = map[*environment]bool{}, nil
	f.mu.Unlock()
	for _, e := range envs {
		e.kill()
	}
	return nil
}

// now is the wall clock: deadlines go to a process that reads it.
func (f *Function) now() time.Time { return time.Now() }

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
		e.logs.line("END RequestId: " + inv.id)
		report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB",
			inv.id, float64(duration)/float64(time.Millisecond), billed/time.Millisecond, f.cfg.MemoryMB)
		if cold {
			report += fmt.Sprintf("\tInit Duration: %.2f ms", float64(inv.start.Sub(e.started))/float64(time.Millisecond))
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

// acquire returns an idle live environment, else starts one (a cold start).
func (f *Function) acquire() (e *environment, cold bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, false, ErrClosed
	}
	for len(f.idle) > 0 {
		e = f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if e.alive() {
			e.logs.takeTail() // output between invocations belongs to neither
			return e, false, nil
		}
		delete(f.live, e)
	}
	if e, err = f.startEnvironment(); err != nil {
		return nil, false, err
	}
	f.live[e] = true
	return e, true, nil
}

func (f *Function) release(e *environment) {
	f.mu.Lock()
	closed := f.closed
	if !closed {
		f.idle = append(f.idle, e)
	}
	f.mu.Unlock()
	if closed {
		e.kill()
	}
}

func (f *Function) discard(e *environment) {
	f.mu.Lock()
	delete(f.live, e)
	f.mu.Unlock()
}
