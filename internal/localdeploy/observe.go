package localdeploy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/lambda"
)

// LifecycleCall is a CompleteLifecycleAction or RecordLifecycleActionHeartbeat
// the function sent, as it named its target, and the HTTP status of the
// answer (0 when none came: the invocation was killed or gave up).
type LifecycleCall struct {
	Operation  string
	Group      string
	Hook       string
	InstanceID string
	Token      string
	Result     string // LifecycleActionResult, for a completion
	Status     int
	// Invocation is the SDK's amz-sdk-invocation-id, which every attempt
	// of one call shares: a call recorded answered 200 and then attempted
	// again is one whose caller never received the answer.
	Invocation string
	// Trace is the Root of the call's X-Amzn-Trace-Id, naming the
	// invocation that made it (lambda.Kills names the killed ones by it),
	// and At when its answer came.
	Trace string
	At    time.Time
}

// Lifecycle operations the recorder keeps.
const (
	opComplete  = "CompleteLifecycleAction"
	opHeartbeat = "RecordLifecycleActionHeartbeat"
)

// recorder stands between the function and the local AWS and keeps the
// lifecycle calls that pass. Only the function is pointed at it, so what it
// keeps is the drainer's and nobody else's: the harness and the other
// teams' hooks call the local AWS directly. Requests and answers pass
// unchanged (trace headers, so the fault injector behind still kills the
// right invocation).
type recorder struct {
	srv   *http.Server
	URL   string
	mu    sync.Mutex
	calls []LifecycleCall
}

// maxRecordedBody is how much of an Auto Scaling request the recorder
// reads: lifecycle requests are a few hundred bytes.
const maxRecordedBody = 64 << 10

func startRecorder(target string) (*recorder, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	// The function's environments send in parallel; the default two idle
	// connections per host would make the proxy dial for most requests.
	proxy.Transport = &http.Transport{Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	// A killed invocation or a call's own timeout cancels its request
	// mid-way, as it would on AWS: the caller is gone, nothing to log.
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	r := &recorder{URL: "http://" + ln.Addr().String()}
	r.srv = &http.Server{Handler: r.handler(proxy), ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// readHeaderTimeout bounds a client's request headers; the SDK sends them
// at once, so only a stuck client waits.
const readHeaderTimeout = 10 * time.Second

func (r *recorder) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Auto Scaling is the one service without X-Amz-Target (awsQuery).
		if req.Header.Get("X-Amz-Target") != "" || req.Body == nil {
			next.ServeHTTP(w, req)
			return
		}
		head, _ := io.ReadAll(io.LimitReader(req.Body, maxRecordedBody))
		req.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), req.Body), req.Body}
		form, _ := url.ParseQuery(string(head))
		op := form.Get("Action")
		if op != opComplete && op != opHeartbeat {
			next.ServeHTTP(w, req)
			return
		}
		tap := NewResponseTap(w, 0)
		next.ServeHTTP(tap, req)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, LifecycleCall{
			Operation: op, Group: form.Get("AutoScalingGroupName"), Hook: form.Get("LifecycleHookName"),
			InstanceID: form.Get("InstanceId"), Token: form.Get("LifecycleActionToken"),
			Result: form.Get("LifecycleActionResult"), Status: tap.Status, Invocation: req.Header.Get("Amz-Sdk-Invocation-Id"),
			Trace: lambda.TraceRoot(req.Header.Get("X-Amzn-Trace-Id")), At: time.Now(),
		})
	})
}

// Calls returns the lifecycle calls recorded so far.
func (r *recorder) Calls() []LifecycleCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]LifecycleCall(nil), r.calls...)
}

// env is env with every value naming the local AWS's endpoint pointed at
// the recorder instead.
func (r *recorder) env(env []string, endpoint string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		out[i] = strings.ReplaceAll(kv, endpoint, r.URL)
	}
	return out
}

func (r *recorder) Close() { _ = r.srv.Close() }

// ResponseTap passes an HTTP answer through unchanged and keeps its status
// and its first bytes, for a proxy in front of the local AWS that must know
// how a request was answered (the recorder here, the bench's meter).
type ResponseTap struct {
	http.ResponseWriter
	Status int // 0 until the answer starts
	keep   int
	head   bytes.Buffer
}

// NewResponseTap taps w, keeping up to keep bytes of the body.
func NewResponseTap(w http.ResponseWriter, keep int) *ResponseTap {
	return &ResponseTap{ResponseWriter: w, keep: keep}
}

// Head is the start of the body, up to the bytes the tap keeps.
func (t *ResponseTap) Head() []byte { return t.head.Bytes() }

func (t *ResponseTap) WriteHeader(code int) {
	if t.Status == 0 {
		t.Status = code
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *ResponseTap) Write(b []byte) (int, error) {
	if t.Status == 0 {
		t.Status = http.StatusOK
	}
	if room := t.keep - t.head.Len(); room > 0 {
		t.head.Write(b[:min(room, len(b))])
	}
	return t.ResponseWriter.Write(b)
}

// Flush lets a reverse proxy flush through the tap.
func (t *ResponseTap) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
