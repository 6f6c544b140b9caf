package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// meter stands between the function under test and the local AWS: the
// function's AWS_ENDPOINT_URL_{ECS,AUTO_SCALING,SQS} point at it, it counts
// every request by operation and every throttled answer, and serves the
// request with the local AWS's own handler. The harness's own calls go to
// the local AWS directly and are not counted, so the counts are the design's.
type meter struct {
	URL    string
	srv    *http.Server
	target atomic.Pointer[http.Handler]

	mu        sync.Mutex
	calls     map[string]int // "ECS.ListTasks"
	throttled map[string]int
	// describes are the times of the DescribeContainerInstances calls, to
	// count them per poll round.
	describes []time.Time
}

// readHeaderTimeout bounds a stuck client; the SDK sends headers at once.
const readHeaderTimeout = 10 * time.Second

func startMeter() (*meter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &meter{URL: "http://" + ln.Addr().String(), calls: map[string]int{}, throttled: map[string]int{}}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = m.srv.Serve(ln) }()
	return m, nil
}

// forward sets the handler requests are served by.
func (m *meter) forward(h http.Handler) { m.target.Store(&h) }

func (m *meter) Close() { _ = m.srv.Close() }

// env points a function's SDK at the meter.
func (m *meter) env() []string {
	return []string{"AWS_ENDPOINT_URL_ECS=" + m.URL, "AWS_ENDPOINT_URL_AUTO_SCALING=" + m.URL, "AWS_ENDPOINT_URL_SQS=" + m.URL}
}

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := m.target.Load()
	if h == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	op := operation(r)
	rec := &recorder{ResponseWriter: w}
	(*h).ServeHTTP(rec, r)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[op]++
	if op == "ECS.DescribeContainerInstances" {
		m.describes = append(m.describes, time.Now())
	}
	if isThrottle(rec.status, rec.head.Bytes()) {
		m.throttled[op]++
	}
}

// counts returns copies of the counters.
func (m *meter) counts() (calls, throttled map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	calls, throttled = map[string]int{}, map[string]int{}
	for k, v := range m.calls {
		calls[k] = v
	}
	for k, v := range m.throttled {
		throttled[k] = v
	}
	return calls, throttled
}

// mostPerWindow is the most DescribeContainerInstances calls made within any
// window-long span: with window the poll interval, the calls of the busiest
// poll round.
func (m *meter) mostPerWindow(window time.Duration) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return mostWithin(m.describes, window)
}

// mostWithin is the most of the sorted times within any window-long span.
func mostWithin(times []time.Time, window time.Duration) int {
	most, first := 0, 0
	for last := range times {
		for times[last].Sub(times[first]) >= window {
			first++
		}
		most = max(most, last-first+1)
	}
	return most
}

// operation names a request as "Service.Operation": JSON services by their
// X-Amz-Target, Auto Scaling (awsQuery) by the Action of its form body, which
// is put back for the handler.
func operation(r *http.Request) string {
	target := r.Header.Get("X-Amz-Target")
	if op, ok := strings.CutPrefix(target, "AmazonEC2ContainerServiceV20141113."); ok {
		return "ECS." + op
	}
	if op, ok := strings.CutPrefix(target, "AmazonSQS."); ok {
		return "SQS." + op
	}
	if target != "" {
		return "unknown." + target
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	return "AutoScaling." + form.Get("Action")
}

// isThrottle reports whether an answer is a throttling error in any of the
// three services' wire shapes: ECS ThrottlingException, Auto Scaling
// Throttling, SQS RequestThrottled.
func isThrottle(status int, head []byte) bool {
	return status >= 400 && bytes.Contains(head, []byte("Throttl"))
}

// recorder keeps the status and the first bytes of the answer.
type recorder struct {
	http.ResponseWriter
	status int
	head   bytes.Buffer
}

const headBytes = 512

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := headBytes - r.head.Len(); room > 0 {
		r.head.Write(b[:min(room, len(b))])
	}
	return r.ResponseWriter.Write(b)
}
