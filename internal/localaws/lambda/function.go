package lambda

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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
	// Inits are the Init Durations of the cold starts, as REPORT shows them.
	Inits []time.Duration
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
	kills  []Kill
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
	st := f.stats
	st.Inits = slices.Clone(f.stats.Inits)
	return st
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
