package lambda

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// runtimeRig serves one environment's Runtime API with no process behind it:
// the test plays the runtime.
func runtimeRig(t *testing.T) (*environment, string) {
	t.Helper()
	f := &Function{cfg: FunctionConfig{Timeout: 3 * time.Second}, arn: "arn:aws:lambda:us-east-1:123456789012:function:f"}
	e := &environment{fn: f, logs: &lineWriter{sink: &logSink{w: io.Discard}},
		invocations: make(chan *invocation), exited: make(chan struct{})}
	srv := httptest.NewServer(e.runtimeAPI())
	t.Cleanup(srv.Close)
	return e, srv.URL + "/2018-06-01/runtime"
}

// give hands an invocation to the runtime's pending /next and waits until it
// is taken.
func give(t *testing.T, e *environment, payload string) *invocation {
	t.Helper()
	inv := &invocation{id: newRequestID(), payload: []byte(payload), trace: "Root=1-a-b",
		taken: make(chan struct{}), done: make(chan outcome, 1)}
	select {
	case e.invocations <- inv:
	case <-time.After(hangAfter):
		t.Fatalf("no /next took the invocation within %s", hangAfter)
	}
	<-inv.taken
	return inv
}

// The Runtime API must answer as aws-lambda-go expects, otherwise the real
// bootstrap exits: 200 with the headers on /next, 202 on /response and
// /error, chunked bodies with trailers read whole, and an unknown request id
// refused with the emulator's 400 InvalidRequestID.
func TestRuntimeAPI(t *testing.T) {
	tests := []struct {
		name       string
		path       string // after /invocation/{id}
		wrongID    bool   // answer for an id that is not in progress
		chunked    bool
		trailer    http.Header
		body       string
		wantStatus int
		want       outcome
	}{
		{"a response", "/response", false, false, nil, `{"ok":true}`, http.StatusAccepted, outcome{payload: []byte(`{"ok":true}`)}},
		{"a chunked response with empty trailers", "/response", false, true,
			http.Header{trailerErrorType: nil, trailerErrorBody: nil}, `{"batchItemFailures":[]}`, http.StatusAccepted,
			outcome{payload: []byte(`{"batchItemFailures":[]}`)}},
		{"a stream that failed, in the trailers", "/response", false, true,
			http.Header{trailerErrorType: {"errorString"}, trailerErrorBody: {base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"cut","errorType":"errorString"}`))}},
			`partial`, http.StatusAccepted,
			outcome{payload: []byte(`{"errorMessage":"cut","errorType":"errorString"}`), err: &FunctionError{Type: "errorString", Message: "cut"}}},
		{"an error", "/error", false, false, nil, `{"errorMessage":"boom","errorType":"errorString","stackTrace":[]}`, http.StatusAccepted,
			outcome{payload: []byte(`{"errorMessage":"boom","errorType":"errorString","stackTrace":[]}`), err: &FunctionError{Type: "errorString", Message: "boom"}}},
		{"an unknown request id", "/response", true, false, nil, `{}`, http.StatusBadRequest, outcome{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, base := runtimeRig(t)
			type nextResult struct {
				resp *http.Response
				body string
			}
			got := make(chan nextResult, 1)
			go func() {
				resp, err := http.Get(base + "/invocation/next")
				if err != nil {
					t.Errorf("GET next: %v", err)
					got <- nextResult{}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got <- nextResult{resp, string(b)}
			}()
			before := time.Now()
			inv := give(t, e, `{"event":1}`)
			next := <-got
			if next.resp == nil {
				t.FailNow()
			}
			h := next.resp.Header
			deadline, _ := strconv.ParseInt(h.Get(headerDeadline), 10, 64)
			if next.resp.StatusCode != http.StatusOK || next.body != `{"event":1}` || h.Get(headerRequestID) != inv.id ||
				h.Get(headerFunctionARN) != e.fn.arn || h.Get(headerTraceID) != "Root=1-a-b" ||
				deadline < before.Add(3*time.Second).UnixMilli() || deadline > time.Now().Add(3*time.Second).UnixMilli() {
				t.Fatalf("next got %d %s with headers %v, want 200, the event, its id, ARN, trace and a deadline 3s out", next.resp.StatusCode, next.body, h)
			}

			path := inv.id + tt.path
			if tt.wrongID {
				path = "not-" + path
			}
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, base+"/invocation/"+path, body)
			req.Trailer = tt.trailer
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST %s: %v", path, err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("POST %s: got %d %s, want %d", path, resp.StatusCode, respBody, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusAccepted {
				if got, want := string(respBody), `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`; got != want {
					t.Errorf("POST %s body got %s, want %s", path, got, want)
				}
				select {
				case out := <-inv.done:
					t.Errorf("an unknown id completed the invocation with %+v", out)
				default:
				}
				return
			}
			out := <-inv.done
			if diff := cmp.Diff(tt.want, out, cmp.AllowUnexported(outcome{})); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			// The same id twice is no longer in progress.
			again, _ := http.Post(base+"/invocation/"+inv.id+"/response", "application/json", strings.NewReader(`{}`))
			again.Body.Close()
			if again.StatusCode != http.StatusBadRequest {
				t.Errorf("second answer for %s: got %d, want 400", inv.id, again.StatusCode)
			}
		})
	}
}

// A response over the 6 MB limit must fail the invocation, as on AWS, not
// reach the caller.
func TestRuntimeAPIRefusesOversizedResponse(t *testing.T) {
	e, base := runtimeRig(t)
	go func() {
		if resp, err := http.Get(base + "/invocation/next"); err == nil {
			resp.Body.Close()
		}
	}()
	inv := give(t, e, `{}`)
	resp, err := http.Post(base+"/invocation/"+inv.id+"/response", "application/json", strings.NewReader(strings.Repeat("x", maxPayloadBytes+1)))
	if err != nil {
		t.Fatalf("POST response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("POST of %d bytes: got %d, want 413", maxPayloadBytes+1, resp.StatusCode)
	}
	if out := <-inv.done; out.err == nil || out.err.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("outcome error got %v, want Function.ResponseSizeTooLarge", out.err)
	}
}
