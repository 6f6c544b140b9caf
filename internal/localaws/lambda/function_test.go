package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type echoReply struct {
	Echo        json.RawMessage   `json:"echo"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineMs  int64             `json:"deadlineMs"`
	TraceID     string            `json:"traceId"`
	Pid         int               `json:"pid"`
	Env         map[string]string `json:"env"`
}

func invoke(t *testing.T, f *Function, payload string) InvokeResult {
	t.Helper()
	res, err := f.Invoke(context.Background(), []byte(payload), InvokeOptions{})
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

func decodeReply(t *testing.T, res InvokeResult) echoReply {
	t.Helper()
	if res.FunctionError != nil {
		t.Fatalf("function error %v, want a response", res.FunctionError)
	}
	var r echoReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	return r
}

// The runtime must hand the process the event with every header aws-lambda-go
// reads, the deadline in epoch milliseconds and the Lambda environment, and
// return what the handler returned; otherwise the real bootstrap fails every
// invocation or sees a different world than on AWS.
func TestInvokeRoundTrip(t *testing.T) {
	f := newEcho(t, FunctionConfig{Timeout: hangAfter, MemoryMB: 256,
		Env: []string{"ECHO_EXTRA=yes", "AWS_REGION=eu-west-1"}})
	var logs []string
	for i, wantCold := range []bool{true, false} {
		before := time.Now()
		res := invoke(t, f, `{"echo":{"n":1}}`)
		after := time.Now()
		r := decodeReply(t, res)
		logs = append(logs, res.LogTail)

		if got, want := string(r.Echo), `{"n":1}`; got != want {
			t.Errorf("invoke %d: echo got %s, want %s", i, got, want)
		}
		if r.RequestID != res.RequestID || len(res.RequestID) != 36 {
			t.Errorf("invoke %d: function saw request id %q, result has %q, want the same UUID", i, r.RequestID, res.RequestID)
		}
		if got, want := r.FunctionARN, "arn:aws:lambda:eu-west-1:123456789012:function:echo"; got != want {
			t.Errorf("invoke %d: function ARN got %s, want %s", i, got, want)
		}
		lo, hi := before.Add(hangAfter).UnixMilli(), after.Add(hangAfter).UnixMilli()
		if r.DeadlineMs < lo || r.DeadlineMs > hi {
			t.Errorf("invoke %d: deadline got %d, want between %d and %d (start + timeout)", i, r.DeadlineMs, lo, hi)
		}
		if r.TraceID == "" || r.TraceID != res.TraceHeader {
			t.Errorf("invoke %d: _X_AMZN_TRACE_ID got %q, want the result's trace header %q", i, r.TraceID, res.TraceHeader)
		}
		if res.ColdStart != wantCold {
			t.Errorf("invoke %d: cold start got %v, want %v", i, res.ColdStart, wantCold)
		}
		if res.BilledDuration%time.Millisecond != 0 || res.BilledDuration < res.Duration || res.BilledDuration-res.Duration >= time.Millisecond {
			t.Errorf("invoke %d: billed %s for %s, want the duration rounded up to the millisecond", i, res.BilledDuration, res.Duration)
		}
		if i == 0 {
			r.Env["AWS_LAMBDA_RUNTIME_API"] = strings.Split(r.Env["AWS_LAMBDA_RUNTIME_API"], ":")[0]
			want := map[string]string{
				"AWS_LAMBDA_FUNCTION_NAME": "echo", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
				"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/echo",
				"AWS_LAMBDA_RUNTIME_API": "127.0.0.1", "AWS_REGION": "eu-west-1", "TZ": ":UTC",
				"LAMBDA_TASK_ROOT": "/var/task", "ECHO_EXTRA": "yes",
			}
			if diff := cmp.Diff(want, r.Env); diff != "" {
				t.Errorf("process environment (-want +got), HOME must not leak in:\n%s", diff)
			}
		}
	}
	if !strings.Contains(logs[0], "Init Duration") || strings.Contains(logs[1], "Init Duration") {
		t.Errorf("REPORT lines %q, want Init Duration on the cold start only", logs)
	}
	st := f.Stats()
	if st.Invocations != 2 || st.ColdStarts != 1 || st.Errors != 0 || st.BilledDuration <= 0 || len(st.Inits) != 1 || st.Inits[0] <= 0 {
		t.Errorf("stats got %+v, want 2 invocations, 1 cold start with its init duration, no errors, some billed time", st)
	}
}

// Each way an invocation can fail must come back as Lambda reports it, and a
// process that is gone afterwards (panic, exit, timeout kill) must be replaced
// by a cold start, otherwise the next event would hang or be lost.
func TestInvokeFailures(t *testing.T) {
	tests := []struct {
		name        string
		payload     string
		wantType    string
		wantMessage string
		wantTimeout bool
		wantNewEnv  bool // the next invocation is a cold start
	}{
		{"a returned error keeps the environment", `{"error":"boom"}`, "errorString", "boom", false, false},
		{"a panic is reported, then the process restarts", `{"panic":"oops"}`, "string", "oops", false, true},
		{"an exit mid-invocation is Runtime.ExitError", `{"exit":3}`, "Runtime.ExitError", "Runtime exited with error: exit status 3", false, true},
		{"the timeout kills the process", `{"sleep":"1h"}`, "Sandbox.Timedout", "Task timed out after 5.00 seconds", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Only the row that times out has a short timeout; its other
			// invocations, which must not time out, have 5 s to answer.
			timeout := hangAfter
			if tt.wantTimeout {
				timeout = 5 * time.Second
			}
			f := newEcho(t, FunctionConfig{Timeout: timeout})
			first := decodeReply(t, invoke(t, f, `{}`))

			res := invoke(t, f, tt.payload)
			if res.FunctionError == nil {
				t.Fatalf("%s: got response %s, want a %s error", tt.payload, res.Payload, tt.wantType)
			}
			if res.FunctionError.Type != tt.wantType || !strings.Contains(res.FunctionError.Message, tt.wantMessage) {
				t.Errorf("%s: got error %v, want type %s with %q", tt.payload, res.FunctionError, tt.wantType, tt.wantMessage)
			}
			var doc errorBody
			if err := json.Unmarshal(res.Payload, &doc); err != nil || doc.ErrorType != tt.wantType {
				t.Errorf("%s: payload %s, want the error document of type %s", tt.payload, res.Payload, tt.wantType)
			}
			if tt.wantTimeout && res.BilledDuration != timeout {
				t.Errorf("%s: billed %s, want the whole %s timeout", tt.payload, res.BilledDuration, timeout)
			}

			next := invoke(t, f, `{}`)
			if next.ColdStart != tt.wantNewEnv {
				t.Errorf("after %s: next cold start got %v, want %v", tt.payload, next.ColdStart, tt.wantNewEnv)
			}
			if pid := decodeReply(t, next).Pid; (pid != first.Pid) != tt.wantNewEnv {
				t.Errorf("after %s: pid %d then %d, want a new process: %v", tt.payload, first.Pid, pid, tt.wantNewEnv)
			}
			st := f.Stats()
			wantTimeouts := 0
			if tt.wantTimeout {
				wantTimeouts = 1
			}
			if st.Errors != 1 || st.Invocations != 3 || st.Timeouts != wantTimeouts {
				t.Errorf("stats got %+v, want 3 invocations, 1 error, %d timeouts", st, wantTimeouts)
			}
		})
	}
}

// The real drainer exits during init when its configuration is wrong; the
// invocation must fail with Runtime.ExitError and carry the drainer's own
// message in its log tail, otherwise a misconfigured stack only shows
// "exit status 1".
func TestInitFailureOfRealDrainer(t *testing.T) {
	f, err := NewFunction(FunctionConfig{Name: "drainer", Binary: drainerBin.build(t)})
	if err != nil {
		t.Fatalf("NewFunction: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	for i := range 2 {
		res := invoke(t, f, `{}`)
		if res.FunctionError == nil || res.FunctionError.Type != "Runtime.ExitError" || !strings.Contains(res.FunctionError.Message, "exit status 1") {
			t.Fatalf("invoke %d: got error %v, want Runtime.ExitError with exit status 1", i, res.FunctionError)
		}
		if !strings.Contains(res.LogTail, "DRAINER_QUEUE_URL is required") {
			t.Errorf("invoke %d: log tail %q, want the drainer's configuration error", i, res.LogTail)
		}
		if !res.ColdStart {
			t.Errorf("invoke %d: got a warm start, want every invoke to start a new process", i)
		}
	}
	if st := f.Stats(); st.ColdStarts != 2 || st.Errors != 2 {
		t.Errorf("stats got %+v, want 2 cold starts and 2 errors", st)
	}
}

// Concurrency bounds the execution environments: invocations beyond it wait
// for one instead of starting more processes.
func TestConcurrencyBoundsEnvironments(t *testing.T) {
	f := newEcho(t, FunctionConfig{Concurrency: 2})
	var wg sync.WaitGroup
	pids := make(chan int, 6)
	for range 6 {
		wg.Go(func() {
			res, err := f.Invoke(context.Background(), []byte(`{"sleep":"100ms"}`), InvokeOptions{})
			if err != nil || res.FunctionError != nil {
				t.Errorf("Invoke: %v %v", err, res.FunctionError)
				return
			}
			var r echoReply
			_ = json.Unmarshal(res.Payload, &r)
			pids <- r.Pid
		})
	}
	wg.Wait()
	close(pids)
	distinct := map[int]bool{}
	for p := range pids {
		distinct[p] = true
	}
	if st := f.Stats(); st.ColdStarts != 2 || len(distinct) != 2 || st.Invocations != 6 {
		t.Errorf("got %d cold starts and %d processes for %d invocations, want 2, 2 and 6", st.ColdStarts, len(distinct), st.Invocations)
	}
}

// Close must kill every process and refuse later invocations, otherwise test
// runs and the demo leak bootstrap processes.
func TestCloseKillsProcesses(t *testing.T) {
	f := newEcho(t, FunctionConfig{})
	pid := decodeReply(t, invoke(t, f, `{}`)).Pid
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d after Close: signal 0 got %v, want ESRCH", pid, err)
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: got %v, want ErrClosed", err)
	}
}

// NewFunction must refuse a configuration AWS refuses, so mistakes show at
// setup rather than as odd invocations.
func TestNewFunctionValidates(t *testing.T) {
	bin := echoBin.build(t)
	tests := []struct {
		name string
		cfg  FunctionConfig
	}{
		{"no name", FunctionConfig{Binary: bin}},
		{"missing binary", FunctionConfig{Name: "f", Binary: bin + ".missing"}},
		{"unknown recursive loop setting", FunctionConfig{Name: "f", Binary: bin, RecursiveLoop: "Off"}},
		{"negative timeout", FunctionConfig{Name: "f", Binary: bin, Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewFunction(tt.cfg); err == nil {
				t.Errorf("NewFunction(%+v): got no error, want one", tt.cfg)
			}
		})
	}
}
