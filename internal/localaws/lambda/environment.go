package lambda

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// environment is one execution environment: a bootstrap process and the
// Runtime API it polls.
type environment struct {
	fn          *Function
	started     time.Time
	srv         *http.Server
	cmd         *exec.Cmd
	logs        *lineWriter
	invocations chan *invocation // unbuffered: a send completes when /next takes it
	exited      chan struct{}    // closed once the process has exited and its output is read
	exitErr     error            // set before exited closes

	mu      sync.Mutex
	current *invocation    // taken by /next, not yet answered
	initErr *FunctionError // posted to /runtime/init/error
}

// invocation is one event handed to an environment.
type invocation struct {
	id      string
	payload []byte
	trace   string
	taken   chan struct{} // closed by /next once start and deadline are set
	start   time.Time
	// deadline is start plus the function timeout, sent as
	// Lambda-Runtime-Deadline-Ms.
	deadline time.Time
	done     chan outcome // buffered: the answer never waits for Invoke
}

type outcome struct {
	payload []byte
	err     *FunctionError
}

// startEnvironment starts a process with its own loopback Runtime API.
func (f *Function) startEnvironment() (*environment, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the runtime API: %w", err)
	}
	e := &environment{
		fn:          f,
		started:     f.now(),
		logs:        &lineWriter{sink: f.logs},
		invocations: make(chan *invocation),
		exited:      make(chan struct{}),
	}
	e.srv = &http.Server{Handler: e.runtimeAPI(), ReadHeaderTimeout: 10 * time.Second} // the runtime's own requests; bounds a stuck client
	go func() { _ = e.srv.Serve(ln) }()

	e.cmd = exec.Command(f.cfg.Binary) // #nosec G204 -- running the function's binary is what a Lambda runtime does
	e.cmd.Dir = filepath.Dir(f.cfg.Binary)
	e.cmd.Env = f.processEnv(ln.Addr().String())
	e.cmd.Stdout = e.logs
	e.cmd.Stderr = e.logs
	if err := e.cmd.Start(); err != nil {
		_ = e.srv.Close()
		return nil, fmt.Errorf("starting %s: %w", f.cfg.Binary, err)
	}
	go func() {
		err := e.cmd.Wait()
		e.logs.flush()
		e.exitErr = err
		close(e.exited)
		_ = e.srv.Close()
	}()
	return e, nil
}

// processEnv is the environment Lambda gives a provided runtime (the
// variables aws-lambda-go's lambda and lambdacontext packages read), then cfg.Env, whose entries win. Nothing of the host's environment
// leaks in, as nothing of a developer's machine reaches a real function.
func (f *Function) processEnv(runtimeAPI string) []string {
	now := f.now().UTC()
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME=" + f.cfg.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.cfg.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + f.cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + now.Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=" + f.region,
		"AWS_DEFAULT_REGION=" + f.region,
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=/var/task",
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
	return append(env, f.cfg.Env...)
}

// alive reports whether the process is still running.
func (e *environment) alive() bool {
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// kill stops the process and waits until it has exited.
func (e *environment) kill() {
	if e.alive() {
		_ = e.cmd.Process.Kill() // it may exit by itself in between
	}
	<-e.exited
}

// exitError is what Lambda reports for a process that exits: the init
// error the runtime posted, else Runtime.ExitError.
func (e *environment) exitError(requestID string) *FunctionError {
	e.mu.Lock()
	initErr := e.initErr
	e.mu.Unlock()
	if initErr != nil {
		return initErr
	}
	var ee *exec.ExitError
	if !errors.As(e.exitErr, &ee) {
		return &FunctionError{Type: "Runtime.ExitError",
			Message: fmt.Sprintf("RequestId: %s Error: Runtime exited without providing a reason", requestID)}
	}
	// ProcessState reads "exit status 1" or "signal: killed", as Lambda does.
	return &FunctionError{Type: "Runtime.ExitError",
		Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", requestID, ee.ProcessState)}
}
