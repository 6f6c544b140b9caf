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
	terminated []string
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clk: clock.NewFake(start)}
	o.Emit = func(ev awswire.Event) { e.mu.Lock(); e.events = append(e.events, ev); e.mu.Unlock() }
	o.OnLaunch = func(_, id string) { e.mu.Lock(); e.launched = append(e.launched, id); e.mu.Unlock() }
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

func (e *env) groupInstances(name string) []types.Instance {
	e.t.Helper()
	out, err := e.client.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 {
		e.t.Fatalf("DescribeAutoScalingGroups(%s): got %d groups, want 1", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0].Instances
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
