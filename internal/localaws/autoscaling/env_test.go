package autoscaling

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
)

var start = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

// env is one emulator behind a loopback server, a real SDK client pointed at
// it, and a record of everything it told the harness.
type env struct {
	t      *testing.T
	ctx    context.Context
	clk    *clock.Fake
	srv    *Server
	url    string
	client *autoscaling.Client

	mu         sync.Mutex
	events     []awswire.Event
	launched   []string
	stopped    []string
	terminated []string
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clk: clock.NewFake(start)}
	o.Emit = func(ev awswire.Event) { e.mu.Lock(); e.events = append(e.events, ev); e.mu.Unlock() }
	o.OnLaunch = func(_, id string, _ time.Time) { e.mu.Lock(); e.launched = append(e.launched, id); e.mu.Unlock() }
	o.OnStopped = func(_, id string) { e.mu.Lock(); e.stopped = append(e.stopped, id); e.mu.Unlock() }
	o.OnTerminate = func(_, id string) { e.mu.Lock(); e.terminated = append(e.terminated, id); e.mu.Unlock() }
	e.srv = New(e.clk, o)
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	e.url = ts.URL
	cfg, err := config.LoadDefaultConfig(e.ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond })
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	e.client = autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.BaseEndpoint = aws.String(ts.URL) })
	return e
}

// group creates a group of n instances and returns their IDs.
func (e *env) group(name string, n int, hooks ...Hook) []string {
	e.t.Helper()
	_, ids, err := e.srv.CreateGroup(name, 0, 10, n)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range hooks {
		h.Group = name
		if h.Transition == "" {
			h.Transition = TransitionTerminating
		}
		if err := e.srv.PutLifecycleHook(h); err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

func (e *env) setDesired(group string, n int32) {
	e.t.Helper()
	if _, err := e.client.SetDesiredCapacity(e.ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(group), DesiredCapacity: aws.Int32(n),
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) complete(group, hook, instanceID, token, result string) error {
	in := &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName:  aws.String(group),
		LifecycleHookName:     aws.String(hook),
		LifecycleActionResult: aws.String(result),
	}
	if instanceID != "" {
		in.InstanceId = aws.String(instanceID)
	}
	if token != "" {
		in.LifecycleActionToken = aws.String(token)
	}
	_, err := e.client.CompleteLifecycleAction(e.ctx, in)
	return err
}

func (e *env) heartbeat(group, hook, instanceID, token string) error {
	in := &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String(group),
		LifecycleHookName:    aws.String(hook),
	}
	if instanceID != "" {
		in.InstanceId = aws.String(instanceID)
	}
	if token != "" {
		in.LifecycleActionToken = aws.String(token)
	}
	_, err := e.client.RecordLifecycleActionHeartbeat(e.ctx, in)
	return err
}

func (e *env) action(instanceID, hook string) ActionView {
	e.t.Helper()
	a, ok := e.srv.Action(instanceID, hook)
	if !ok {
		e.t.Fatalf("no action for instance %s, hook %s", instanceID, hook)
	}
	return a
}

func (e *env) state(instanceID string) string {
	e.t.Helper()
	v, ok := e.srv.Instance(instanceID)
	if !ok {
		e.t.Fatalf("unknown instance %s", instanceID)
	}
	return v.LifecycleState
}

// states reads instance states through DescribeAutoScalingInstances, as the
// drainer sees them; an absent instance maps to "".
func (e *env) states(ids ...string) map[string]string {
	e.t.Helper()
	out, err := e.client.DescribeAutoScalingInstances(e.ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids})
	if err != nil {
		e.t.Fatal(err)
	}
	got := map[string]string{}
	for _, id := range ids {
		got[id] = ""
	}
	for _, d := range out.AutoScalingInstances {
		got[aws.ToString(d.InstanceId)] = aws.ToString(d.LifecycleState)
	}
	return got
}

func (e *env) recorded() (events []awswire.Event, launched, terminated []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]awswire.Event(nil), e.events...), append([]string(nil), e.launched...), append([]string(nil), e.terminated...)
}

func (e *env) describeGroup(name string) types.AutoScalingGroup {
	e.t.Helper()
	out, err := e.client.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 {
		e.t.Fatalf("DescribeAutoScalingGroups(%s): got %d groups, want 1", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

func (e *env) groupInstances(name string) []types.Instance {
	e.t.Helper()
	return e.describeGroup(name).Instances
}

// apiError returns the code and message of an SDK error, as the drainer
// classifies it.
func apiError(t *testing.T, err error) (code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v, want a smithy.APIError", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// event is a lifecycle event as a consumer routes it: its detail-type and
// detail.
type event struct {
	DetailType string
	LifecycleDetail
}

// lifecycleEvents returns the lifecycle events emitted since the last call,
// tokens blanked so that tests can compare them whole.
func (e *env) lifecycleEvents() []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []event
	for _, ev := range e.events {
		d := ev.Detail.(LifecycleDetail)
		d.LifecycleActionToken = ""
		out = append(out, event{ev.DetailType, d})
	}
	e.events = nil
	return out
}

func (e *env) stoppedIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.stopped...)
}

// advance moves the clock and applies what is due, as a request would.
func (e *env) advance(d time.Duration) {
	e.clk.Advance(d)
	e.srv.Settle()
}

func (e *env) putWarmPool(in *autoscaling.PutWarmPoolInput) {
	e.t.Helper()
	if _, err := e.client.PutWarmPool(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) describeWarmPool(group string) *autoscaling.DescribeWarmPoolOutput {
	e.t.Helper()
	out, err := e.client.DescribeWarmPool(e.ctx, &autoscaling.DescribeWarmPoolInput{AutoScalingGroupName: aws.String(group)})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// warmIDs returns the IDs of the group's warm-pool instances, launch order.
func (e *env) warmIDs(group string) []string {
	var ids []string
	for _, v := range e.srv.WarmInstances(group) {
		ids = append(ids, v.ID)
	}
	return ids
}

func (e *env) completeAll(group, hook string, ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if err := e.complete(group, hook, id, "", ResultContinue); err != nil {
			e.t.Fatalf("completing %s of %s: %v", hook, id, err)
		}
	}
}
