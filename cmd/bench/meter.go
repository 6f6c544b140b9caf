package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
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
	// describes are the DescribeContainerInstances calls in the order
	// served, to count them per poll round.
	describes []describeCall
	// polls are the trace Parents of the invocations the poll queue made.
	polls map[string]bool
}

// describeCall is one DescribeContainerInstances: the invocation it came
// from (its trace header's Parent) and the instances it described.
type describeCall struct {
	parent    string
	instances []string
}

// readHeaderTimeout bounds a stuck client; the SDK sends headers at once.
const readHeaderTimeout = 10 * time.Second

func startMeter() (*meter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &meter{URL: "http://" + ln.Addr().String(), calls: map[string]int{}, throttled: map[string]int{}, polls: map[string]bool{}}
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
	var described []string
	if op == "ECS.DescribeContainerInstances" {
		described = describedInstances(r)
	}
	tap := localdeploy.NewResponseTap(w, throttleCodeBytes)
	(*h).ServeHTTP(tap, r)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[op]++
	if described != nil && tap.Status == http.StatusOK {
		m.describes = append(m.describes, describeCall{parent: traceParent(r.Header.Get("X-Amzn-Trace-Id")), instances: described})
	}
	if isThrottle(tap.Status, tap.Head()) {
		m.throttled[op]++
	}
}

// counts returns copies of the counters.
func (m *meter) counts() (calls, throttled map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.calls), maps.Clone(m.throttled)
}

// invoked records an invocation an event source made (localdeploy's
// FunctionOptions.Invoked), so that its calls are known by their queue.
func (m *meter) invoked(q localdeploy.Queue, traceHeader string) {
	if q != localdeploy.PollQueue {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.polls[traceParent(traceHeader)] = true
}

// describesPerPollRound is the most DescribeContainerInstances calls that
// poll-queue invocations made in one poll round: the calls of the busiest
// round, where the calls event-driven invocations made are not polls.
func (m *meter) describesPerPollRound() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var polls [][]string
	for _, c := range m.describes {
		if c.parent != "" && m.polls[c.parent] {
			polls = append(polls, c.instances)
		}
	}
	return mostPerRound(polls)
}

// mostPerRound counts calls by poll round, given the instances each call
// described, in order: an instance's k-th look is in round k, and a call is
// in the round most of its instances are in (the earliest of a tie), so each
// call counts once. It returns the count of the busiest round. Rounds, not
// spans of time: a round that takes most of an interval to serve would
// otherwise be counted with part of the next.
func mostPerRound(calls [][]string) int {
	looks := map[string]int{}
	perRound := map[int]int{}
	most := 0
	for _, instances := range calls {
		in := map[int]int{}
		round := -1
		for _, id := range instances {
			r := looks[id]
			looks[id]++
			in[r]++
			if round < 0 || in[r] > in[round] || (in[r] == in[round] && r < round) {
				round = r
			}
		}
		if round < 0 {
			continue
		}
		perRound[round]++
		most = max(most, perRound[round])
	}
	return most
}

// describedInstances reads the container instances a
// DescribeContainerInstances request names, and puts the body back for the
// handler.
func describedInstances(r *http.Request) []string {
	body := peekBody(r)
	var in struct {
		ContainerInstances []string `json:"containerInstances"`
	}
	_ = json.Unmarshal(body, &in)
	return in.ContainerInstances
}

// peekBody reads a request's body and puts it back for the handler.
func peekBody(r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

// traceParent is the Parent of an X-Ray trace header, which Lambda makes
// anew for each invocation.
func traceParent(header string) string {
	for _, f := range strings.Split(header, ";") {
		if v, ok := strings.CutPrefix(f, "Parent="); ok {
			return v
		}
	}
	return ""
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
	form, _ := url.ParseQuery(string(peekBody(r)))
	return "AutoScaling." + form.Get("Action")
}

// throttleCodeBytes is how much of an answer isThrottle reads: every
// service names its error code near the start of the body.
const throttleCodeBytes = 512

// isThrottle reports whether an answer is a throttling error in any of the
// three services' wire shapes: ECS ThrottlingException, Auto Scaling
// Throttling, SQS RequestThrottled.
func isThrottle(status int, head []byte) bool {
	return status >= 400 && bytes.Contains(head, []byte("Throttl"))
}
