package faults_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sdkeventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sdksqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/faults"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/lambda"
)

// The Lambda emulator's kill is what a composer hands to SetKill, as is.
var _ func(trace string) bool = (*lambda.Function)(nil).KillInvocation

// trace is the X-Amzn-Trace-Id of the pretend invocation in the kill tests.
const trace = "Root=1-67890abc-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1"

// world is the local AWS behind an injector, with an SDK configuration whose
// HTTP client records the Amz-Sdk-Request header of every attempt.
type world struct {
	aws      *localaws.AWS
	in       *faults.Injector
	cfg      aws.Config
	queueURL string

	mu       sync.Mutex
	attempts []string // Amz-Sdk-Request, one per request sent
}

func newWorld(t *testing.T, c faults.Config) *world {
	t.Helper()
	w := &world{in: faults.New(c)}
	now := clock.NewFake(time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC))
	bus := eventbridge.NewBus(now, localaws.AccountID, localaws.Region)
	t.Cleanup(bus.Close)
	a, err := localaws.Start(localaws.Options{Clock: now, Faults: w.in, Events: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	w.aws = a
	if w.cfg, err = a.Config(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.cfg.HTTPClient = &http.Client{Transport: w}
	a.ECS.CreateCluster("c1")
	if _, _, err := a.AutoScaling.CreateGroup("asg", 0, 1, 0); err != nil {
		t.Fatal(err)
	}
	if w.queueURL, err = a.SQS.CreateQueue("q", nil); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) RoundTrip(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	w.attempts = append(w.attempts, r.Header.Get("Amz-Sdk-Request"))
	w.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (w *world) sent() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.attempts)
}

// call is one SDK call of each service, through the real clients.
type call struct {
	service string
	op      string
	do      func(ctx context.Context, w *world) error
}

var calls = []call{
	{faults.ServiceECS, "ListContainerInstances", func(ctx context.Context, w *world) error {
		_, err := sdkecs.NewFromConfig(w.cfg).ListContainerInstances(ctx, &sdkecs.ListContainerInstancesInput{Cluster: aws.String("c1")})
		return err
	}},
	{faults.ServiceAutoScaling, "DescribeAutoScalingGroups", func(ctx context.Context, w *world) error {
		_, err := sdkautoscaling.NewFromConfig(w.cfg).DescribeAutoScalingGroups(ctx, &sdkautoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"asg"}})
		return err
	}},
	{faults.ServiceSQS, "SendMessage", func(ctx context.Context, w *world) error {
		_, err := sdksqs.NewFromConfig(w.cfg).SendMessage(ctx, &sdksqs.SendMessageInput{QueueUrl: aws.String(w.queueURL), MessageBody: aws.String("m")})
		return err
	}},
	{faults.ServiceEvents, "PutEvents", func(ctx context.Context, w *world) error {
		_, err := sdkeventbridge.NewFromConfig(w.cfg).PutEvents(ctx, &sdkeventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("ecs-drainer"), DetailType: aws.String("ECS Drain State Change"), Detail: aws.String("{}"),
		}}})
		return err
	}},
}

func callOf(t *testing.T, service string) call {
	t.Helper()
	for _, c := range calls {
		if c.service == service {
			return c
		}
	}
	t.Fatalf("no call for %s", service)
	return call{}
}

// status returns the HTTP status of the response behind err.
func status(err error) int {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return 0
	}
	return re.HTTPStatusCode()
}

func code(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	return ae.ErrorCode()
}

// allAttempts is what the SDK's standard retryer sends for a call that keeps
// failing with a retryable error.
var allAttempts = []string{"attempt=1; max=3", "attempt=2; max=3", "attempt=3; max=3"}

// Injected throttling must reach the drainer as the real service's
// throttling does: the code the SDK knows as a throttle, so that it retries
// (DefaultThrottleErrorCodes in aws-sdk-go-v2 aws/retry/standard.go). A shape
// the SDK does not recognise would not be retried and would test nothing real.
func TestThrottlingDecodesToTheServiceCodeAndIsRetried(t *testing.T) {
	want := map[string]struct {
		code   string
		status int
	}{
		faults.ServiceECS:         {"ThrottlingException", http.StatusBadRequest},
		faults.ServiceAutoScaling: {"Throttling", http.StatusBadRequest},
		faults.ServiceSQS:         {"RequestThrottled", http.StatusForbidden},
		faults.ServiceEvents:      {"ThrottlingException", http.StatusBadRequest},
	}
	for _, c := range calls {
		t.Run(c.service+" answers "+want[c.service].code, func(t *testing.T) {
			w := newWorld(t, faults.Config{Throttle: 1})
			err := c.do(context.Background(), w)
			if got := code(err); got != want[c.service].code {
				t.Fatalf("%s: got error code %q (%v), want %q", c.op, got, err, want[c.service].code)
			}
			if got := status(err); got != want[c.service].status {
				t.Fatalf("%s: got HTTP %d, want %d", c.op, got, want[c.service].status)
			}
			if diff := cmp.Diff(allAttempts, w.sent()); diff != "" {
				t.Fatalf("%s: attempts (-want +got):\n%s", c.op, diff)
			}
			if got := w.in.Stats()[faults.KindThrottle]; got != 3 {
				t.Fatalf("Stats()[throttle] = %d, want 3", got)
			}
		})
	}
}

// Injected 500s must be the service's own server fault, which the SDK
// retries for its status; ECS's must decode to the modeled
// *types.ServerException.
func TestServerErrorsDecodeToTheServiceCodeAndAreRetried(t *testing.T) {
	want := map[string]string{
		faults.ServiceECS:         "ServerException",
		faults.ServiceAutoScaling: "InternalFailure",
		faults.ServiceSQS:         "InternalError",
		faults.ServiceEvents:      "InternalException",
	}
	for _, c := range calls {
		t.Run(c.service+" answers "+want[c.service], func(t *testing.T) {
			w := newWorld(t, faults.Config{ServerError: 1})
			err := c.do(context.Background(), w)
			if got := code(err); got != want[c.service] {
				t.Fatalf("%s: got error code %q (%v), want %q", c.op, got, err, want[c.service])
			}
			if got := status(err); got != http.StatusInternalServerError {
				t.Fatalf("%s: got HTTP %d, want 500", c.op, got)
			}
			var se *ecstypes.ServerException
			if c.service == faults.ServiceECS && !errors.As(err, &se) {
				t.Fatalf("%s: got %T, want *types.ServerException", c.op, err)
			}
			var ie *ebtypes.InternalException
			if c.service == faults.ServiceEvents && !errors.As(err, &ie) {
				t.Fatalf("%s: got %T, want *types.InternalException", c.op, err)
			}
			if diff := cmp.Diff(allAttempts, w.sent()); diff != "" {
				t.Fatalf("%s: attempts (-want +got):\n%s", c.op, diff)
			}
		})
	}
}

// The bytes on the wire must be what AWS sends (awsQuery's ErrorResponse,
// ECS's __type/message body, and for SQS
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html),
// not merely something this SDK version happens to accept.
func TestErrorWireShapes(t *testing.T) {
	tests := []struct {
		name       string
		cfg        faults.Config
		req        *http.Request
		status     int
		body       string // exact, or a prefix when it ends in "<RequestId>"
		queryError string
	}{
		{"ECS throttling is a bare ThrottlingException", faults.Config{Throttle: 1},
			jsonRequest("AmazonEC2ContainerServiceV20141113.ListTasks"), 400,
			`{"__type":"ThrottlingException","message":"Rate exceeded"}`, ""},
		{"ECS server error is ServerException", faults.Config{ServerError: 1},
			jsonRequest("AmazonEC2ContainerServiceV20141113.ListTasks"), 500,
			`{"__type":"ServerException","message":"We encountered an internal error. Please try again."}`, ""},
		{"SQS throttling is a namespaced RequestThrottled with its query code", faults.Config{Throttle: 1},
			jsonRequest("AmazonSQS.SendMessage"), 403,
			`{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Request is throttled."}`, "RequestThrottled;Sender"},
		{"SQS server error is InternalError from the receiver", faults.Config{ServerError: 1},
			jsonRequest("AmazonSQS.SendMessage"), 500,
			`{"__type":"com.amazonaws.sqs#InternalError","message":"We encountered an internal error. Please try again."}`, "InternalError;Receiver"},
		// https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html
		{"EventBridge throttling is a bare ThrottlingException", faults.Config{Throttle: 1},
			jsonRequest("AWSEvents.PutEvents"), 400,
			`{"__type":"ThrottlingException","message":"Rate exceeded"}`, ""},
		{"EventBridge server error is its modeled InternalException", faults.Config{ServerError: 1},
			jsonRequest("AWSEvents.PutEvents"), 500,
			`{"__type":"InternalException","message":"We encountered an internal error. Please try again."}`, ""},
		{"Auto Scaling throttling is a Sender Throttling error", faults.Config{Throttle: 1},
			formRequest("Action=CompleteLifecycleAction&Version=2011-01-01"), 400,
			`<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>`, ""},
		{"Auto Scaling server error is a Receiver InternalFailure", faults.Config{ServerError: 1},
			formRequest("Action=CompleteLifecycleAction&Version=2011-01-01"), 500,
			`<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>We encountered an internal error. Please try again.</Message></Error><RequestId>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			faults.New(tt.cfg).Middleware(unreachable(t)).ServeHTTP(rec, tt.req)
			if rec.Code != tt.status {
				t.Errorf("status: got %d, want %d", rec.Code, tt.status)
			}
			body := rec.Body.String()
			if prefix, ok := strings.CutSuffix(tt.body, "<RequestId>"); ok {
				if !strings.HasPrefix(body, prefix+"<RequestId>") || !strings.HasSuffix(body, "</RequestId></ErrorResponse>") {
					t.Errorf("body: got %s, want %s…</RequestId></ErrorResponse>", body, tt.body)
				}
			} else if body != tt.body {
				t.Errorf("body: got %s, want %s", body, tt.body)
			}
			if got := rec.Header().Get("x-amzn-query-error"); got != tt.queryError {
				t.Errorf("x-amzn-query-error: got %q, want %q", got, tt.queryError)
			}
		})
	}
}

func jsonRequest(target string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Target", target)
	return r
}

func formRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// unreachable is a next handler that a faulted request must never reach.
func unreachable(t *testing.T) http.Handler {
	return http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the request reached the service, want it answered by the fault")
	})
}

// Targeting (Config.Only) must see the service and operation the endpoint
// routes on, and reading the Auto Scaling body to find its Action must leave
// the body whole for the service, otherwise every fault-free Auto Scaling
// call would break.
func TestMiddlewareNamesOperationsAsTheEndpointRoutesThem(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	w := newWorld(t, faults.Config{Only: func(service, op string) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, service+" "+op)
		return true
	}})
	for _, c := range calls {
		if err := c.do(context.Background(), w); err != nil {
			t.Fatalf("%s with no fault: %v", c.op, err)
		}
	}
	want := []string{"ecs ListContainerInstances", "autoscaling DescribeAutoScalingGroups", "sqs SendMessage", "events PutEvents"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Fatalf("operations named (-want +got):\n%s", diff)
	}
}

// Faults must land only where Only points, so a soak can aim at one
// operation and leave the rest of the world reliable.
func TestOnlyConfinesRequestFaults(t *testing.T) {
	w := newWorld(t, faults.Config{Throttle: 1, Only: func(service, _ string) bool { return service == faults.ServiceECS }})
	for _, c := range calls {
		err := c.do(context.Background(), w)
		if c.service == faults.ServiceECS && code(err) != "ThrottlingException" {
			t.Errorf("%s, selected: got %v, want ThrottlingException", c.op, err)
		}
		if c.service != faults.ServiceECS && err != nil {
			t.Errorf("%s, not selected: got %v, want success", c.op, err)
		}
	}
}

func TestUnknownTargetPassesThrough(t *testing.T) {
	reached := false
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })
	in := faults.New(faults.Config{Throttle: 1, Only: func(string, string) bool {
		t.Error("Only asked about a request for no known service")
		return true
	}})
	in.Middleware(next).ServeHTTP(httptest.NewRecorder(), jsonRequest("AWSStepFunctions.StartExecution"))
	if !reached {
		t.Fatal("request for an unknown target: got it answered by the fault, want it passed to the endpoint")
	}
}

func TestLatencyDelaysRequests(t *testing.T) {
	const latency = 30 * time.Millisecond
	tests := []struct {
		name        string
		rate        float64
		wantDelayed bool
	}{
		{"a rate of one delays the request", 1, true},
		{"a rate of zero does not", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := faults.New(faults.Config{Latency: latency, LatencyRate: tt.rate})
			reached := false
			next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })
			began := time.Now()
			in.Middleware(next).ServeHTTP(httptest.NewRecorder(), jsonRequest("AmazonSQS.SendMessage"))
			took := time.Since(began)
			if !reached {
				t.Fatal("a delayed request never reached the service")
			}
			if tt.wantDelayed && took < latency {
				t.Fatalf("took %v, want at least %v", took, latency)
			}
			if got, want := in.Stats()[faults.KindLatency], map[bool]int{true: 1}[tt.wantDelayed]; got != want {
				t.Fatalf("Stats()[latency] = %d, want %d", got, want)
			}
		})
	}
}

// A caller that gives up must not be kept waiting out injected latency, nor
// have its request served after it left.
func TestLatencyEndsWithTheCaller(t *testing.T) {
	in := faults.New(faults.Config{Latency: time.Hour, LatencyRate: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in.Middleware(unreachable(t)).ServeHTTP(httptest.NewRecorder(), jsonRequest("AmazonSQS.SendMessage").WithContext(ctx))
}

// lambdaEnv makes the SDK behave as inside a Lambda invocation: its
// recursion-detection middleware then sends _X_AMZN_TRACE_ID as
// X-Amzn-Trace-Id on every request, which is how a kill finds its victim.
func lambdaEnv(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "drainer")
	t.Setenv("_X_AMZN_TRACE_ID", trace)
}

// killRecorder is a fake Kill that records what it killed and the number of
// messages in the queue at that moment, which tells before from after.
type killRecorder struct {
	w      *world
	result bool

	mu     sync.Mutex
	traces []string
	queued []int
}

func (k *killRecorder) kill(tr string) bool {
	v, f, d := k.w.aws.SQS.Counts(k.w.queueURL)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.traces = append(k.traces, tr)
	k.queued = append(k.queued, v+f+d)
	return k.result
}

// KillBefore must kill the caller before the service acts, so that the
// drainer's recovery from "my call never happened" is exercised.
func TestKillBeforeKillsTheCallerBeforeTheServiceActs(t *testing.T) {
	lambdaEnv(t)
	w := newWorld(t, faults.Config{KillBefore: 1})
	k := &killRecorder{w: w, result: true}
	w.in.SetKill(k.kill)

	err := callOf(t, faults.ServiceSQS).do(context.Background(), w)
	if err == nil {
		t.Fatal("SendMessage from a killed invocation: got success, want an error")
	}
	// The fake kill leaves the SDK alive, so it retries; a real kill would
	// have ended it at the first attempt.
	wantTraces := []string{trace, trace, trace}
	if diff := cmp.Diff(wantTraces, k.traces); diff != "" {
		t.Fatalf("kills (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 0, 0}, k.queued); diff != "" {
		t.Fatalf("messages queued at each kill (-want +got):\n%s", diff)
	}
	if v, f, d := w.aws.SQS.Counts(w.queueURL); v+f+d != 0 {
		t.Fatalf("queue after killed sends: got %d messages, want 0", v+f+d)
	}
	if got := w.in.Stats()[faults.KindKillBefore]; got != 3 {
		t.Fatalf("Stats()[kill_before] = %d, want 3", got)
	}
}

// KillAfter must kill the caller after the service acted: the effect exists
// but the caller never learns of it, the case that forks re-queue chains.
func TestKillAfterKillsTheCallerOnceTheServiceActed(t *testing.T) {
	lambdaEnv(t)
	w := newWorld(t, faults.Config{KillAfter: 1})
	k := &killRecorder{w: w, result: true}
	w.in.SetKill(k.kill)

	if err := callOf(t, faults.ServiceSQS).do(context.Background(), w); err != nil {
		t.Fatalf("SendMessage: got %v, want the recorded success", err)
	}
	if diff := cmp.Diff([]int{1}, k.queued); diff != "" {
		t.Fatalf("messages queued at the kill (-want +got):\n%s", diff)
	}
	if got := w.in.Stats()[faults.KindKillAfter]; got != 1 {
		t.Fatalf("Stats()[kill_after] = %d, want 1", got)
	}
	// The call succeeded: its caller's account of it is lost, and counted
	// so (a soak's metrics are short by exactly these).
	if got := w.in.Stats()[faults.KillAfterSuccess("SendMessage")]; got != 1 {
		t.Fatalf("Stats()[%s] = %d, want 1", faults.KillAfterSuccess("SendMessage"), got)
	}
}

// A kill must count only when it killed, and a request that names no
// invocation must never be the occasion of one.
func TestKillsNeedARunningInvocation(t *testing.T) {
	tests := []struct {
		name      string
		inLambda  bool
		killed    bool
		wantCalls int
	}{
		{"a request without a trace kills nobody", false, true, 0},
		{"a trace with no running invocation is served", true, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inLambda {
				lambdaEnv(t)
			}
			w := newWorld(t, faults.Config{KillBefore: 1})
			k := &killRecorder{w: w, result: tt.killed}
			w.in.SetKill(k.kill)
			if err := callOf(t, faults.ServiceSQS).do(context.Background(), w); err != nil {
				t.Fatalf("SendMessage: got %v, want success", err)
			}
			if got := len(k.traces); got != tt.wantCalls {
				t.Fatalf("kill calls: got %d, want %d", got, tt.wantCalls)
			}
			if got := w.in.Stats()[faults.KindKillBefore]; got != 0 {
				t.Fatalf("Stats()[kill_before] = %d, want 0", got)
			}
		})
	}
}

// The same seed must replay the same faults through the whole endpoint, not
// only in Roll: a soak failure is only useful if its seed reproduces it.
func TestSameSeedReplaysTheSameFaults(t *testing.T) {
	run := func() []string {
		w := newWorld(t, faults.Config{Seed: 42, Throttle: 0.3, ServerError: 0.2})
		w.cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
		var out []string
		for range 40 {
			out = append(out, code(callOf(t, faults.ServiceSQS).do(context.Background(), w)))
		}
		return out
	}
	first, second := run(), run()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Fatalf("seed 42 twice: outcomes differ (-first +second):\n%s", diff)
	}
	for _, want := range []string{"", "RequestThrottled", "InternalError"} {
		if !slices.Contains(first, want) {
			t.Fatalf("40 calls at 30%% throttling and 20%% errors: outcomes %q lack %q", first, want)
		}
	}
}
