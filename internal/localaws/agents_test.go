package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/clock"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

// world is a local AWS on a fake clock with real SDK clients and a record of
// the events it emitted.
type world struct {
	t   *testing.T
	ctx context.Context
	clk *clock.Fake
	aws *AWS
	ecs *sdkecs.Client
	asg *sdkautoscaling.Client

	mu     sync.Mutex
	events []awswire.Event
}

func newWorld(t *testing.T, o Options) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), clk: clock.NewFake(time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC))}
	o.Clock = w.clk
	o.Emit = func(e awswire.Event) { w.mu.Lock(); w.events = append(w.events, e); w.mu.Unlock() }
	a, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	cfg, err := a.Config(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.aws, w.ecs, w.asg = a, sdkecs.NewFromConfig(cfg), sdkautoscaling.NewFromConfig(cfg)
	return w
}

func (w *world) advance(d time.Duration) {
	w.clk.Advance(d)
	w.aws.Settle()
}

// group creates group "asg" of n instances, then its hooks.
func (w *world) group(n int, hooks ...autoscaling.Hook) []string {
	w.t.Helper()
	_, ids, err := w.aws.AutoScaling.CreateGroup("asg", 0, 10, n)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, h := range hooks {
		h.Group = "asg"
		if err := w.aws.AutoScaling.PutLifecycleHook(h); err != nil {
			w.t.Fatal(err)
		}
	}
	return ids
}

func (w *world) setDesired(n int32) {
	w.t.Helper()
	if _, err := w.asg.SetDesiredCapacity(w.ctx, &sdkautoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("asg"), DesiredCapacity: aws.Int32(n)}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) complete(hook, id, result string) {
	w.t.Helper()
	if _, err := w.asg.CompleteLifecycleAction(w.ctx, &sdkautoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("asg"), LifecycleHookName: aws.String(hook), InstanceId: aws.String(id), LifecycleActionResult: aws.String(result),
	}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) state(id string) string {
	w.t.Helper()
	v, ok := w.aws.AutoScaling.Instance(id)
	if !ok {
		w.t.Fatalf("unknown instance %s", id)
	}
	return v.LifecycleState
}

// waiting returns the instances with an active action of hook, in start order.
func (w *world) waiting(hook string) []autoscaling.ActionView {
	var out []autoscaling.ActionView
	for _, a := range w.aws.AutoScaling.Actions() {
		if a.Active && a.Hook == hook {
			out = append(out, a)
		}
	}
	return out
}

// containerInstance is the launch gate's lookup through the SDK: the
// container instance of an EC2 instance in cluster c1, nil when there is
// none.
func (w *world) containerInstance(id string) *ecstypes.ContainerInstance {
	w.t.Helper()
	list, err := w.ecs.ListContainerInstances(w.ctx, &sdkecs.ListContainerInstancesInput{Cluster: aws.String("c1"), Filter: aws.String("ec2InstanceId == " + id)})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(list.ContainerInstanceArns) == 0 {
		return nil
	}
	out, err := w.ecs.DescribeContainerInstances(w.ctx, &sdkecs.DescribeContainerInstancesInput{Cluster: aws.String("c1"), ContainerInstances: list.ContainerInstanceArns})
	if err != nil || len(out.ContainerInstances) != 1 {
		w.t.Fatalf("DescribeContainerInstances(%s): err %v, failures %v", id, err, out.Failures)
	}
	return &out.ContainerInstances[0]
}

// instanceEvents returns the container instance state change events of an
// EC2 instance as (status, agentConnected) pairs.
func (w *world) instanceEvents(id string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.events {
		if e.DetailType != ecs.DetailTypeInstance {
			continue
		}
		var d struct {
			EC2InstanceID  string `json:"ec2InstanceId"`
			Status         string `json:"status"`
			AgentConnected bool   `json:"agentConnected"`
		}
		body, err := json.Marshal(e.Detail)
		if err == nil {
			err = json.Unmarshal(body, &d)
		}
		if err != nil {
			w.t.Fatalf("event detail %v: %v", e.Detail, err)
		}
		if d.EC2InstanceID == id {
			out = append(out, fmt.Sprintf("%s connected=%v", d.Status, d.AgentConnected))
		}
	}
	return out
}

// A new instance that a launch hook holds in Pending:Wait must be left to
// its ECS agent, which registers some seconds after the instance is up and
// then connects, each step an "ECS Container Instance State Change" event,
// while the instance still waits; the launch action then completes. If the
// local AWS registered instances only once InService, a launch gate that
// waits for registration would deadlock; if it registered them at once, the
// gate would never be tested against the seconds ECS does not know them.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds.html
// (the target lifecycle state is InService while the instance is still in
// Pending:Wait, so the agent's ECS_WARM_POOLS_CHECK lets it register),
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html.
func TestAgentRegistersWhileTheLaunchHookHoldsTheInstance(t *testing.T) {
	w := newWorld(t, Options{BootTime: 30 * time.Second})
	if err := w.aws.AttachClusterWith("asg", "c1", Agent{RegisterAfter: 20 * time.Second, ConnectAfter: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	w.group(0, autoscaling.Hook{Name: "gate", Transition: autoscaling.TransitionLaunching, HeartbeatTimeout: 300, DefaultResult: autoscaling.ResultContinue})
	w.setDesired(1)
	w.advance(30 * time.Second)
	actions := w.waiting("gate")
	if len(actions) != 1 || actions[0].Origin != autoscaling.OriginEC2 || actions[0].Destination != autoscaling.OriginAutoScalingGroup {
		t.Fatalf("booted: launch actions %+v, want one, EC2 → AutoScalingGroup", actions)
	}
	id := actions[0].InstanceID

	w.advance(19 * time.Second)
	if ci := w.containerInstance(id); ci != nil || w.state(id) != autoscaling.StatePendingWait {
		t.Fatalf("19s after boot: container instance %v, state %s; want none, Pending:Wait", ci, w.state(id))
	}
	w.advance(time.Second)
	if ci := w.containerInstance(id); ci == nil || aws.ToString(ci.Status) != "ACTIVE" || ci.AgentConnected {
		t.Fatalf("20s after boot: container instance %+v, want ACTIVE, not yet connected", ci)
	}
	w.advance(5 * time.Second)
	if ci := w.containerInstance(id); ci == nil || !ci.AgentConnected {
		t.Fatalf("25s after boot: container instance %+v, want connected", ci)
	}
	if got, want := w.instanceEvents(id), []string{"ACTIVE connected=false", "ACTIVE connected=true"}; !slices.Equal(got, want) {
		t.Errorf("container instance events: got %v, want %v", got, want)
	}
	if got := w.state(id); got != autoscaling.StatePendingWait {
		t.Errorf("registered: got %s, want the instance still in Pending:Wait", got)
	}
	w.complete("gate", id, autoscaling.ResultContinue)
	w.aws.Settle()
	if got := w.state(id); got != autoscaling.StateInService {
		t.Errorf("after CONTINUE: got %s, want InService", got)
	}
}

// Registration delays drawn from a seed must be the same on every run with
// that seed and stay in [RegisterAfter, RegisterAfter+RegisterJitter), or a
// soak that fails could not be replayed.
func TestJitteredRegistrationReplaysFromItsSeed(t *testing.T) {
	offsets := func() []time.Duration {
		w := newWorld(t, Options{})
		if err := w.aws.AttachClusterWith("asg", "c1", Agent{RegisterAfter: 10 * time.Second, RegisterJitter: 20 * time.Second, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		ids := w.group(4)
		start := w.clk.Now()
		for range 30 {
			w.advance(time.Second)
		}
		var out []time.Duration
		for _, id := range ids {
			ci := w.containerInstance(id)
			if ci == nil {
				t.Fatalf("instance %s never registered", id)
			}
			out = append(out, ci.RegisteredAt.Sub(start))
		}
		return out
	}
	first, second := offsets(), offsets()
	if !slices.Equal(first, second) {
		t.Errorf("registration offsets with seed 7: got %v, then %v; want the same", first, second)
	}
	distinct := map[time.Duration]bool{}
	for _, d := range first {
		distinct[d] = true
		if d < 10*time.Second || d >= 30*time.Second {
			t.Errorf("registration offset %v outside [10s, 30s)", d)
		}
	}
	if len(distinct) < 2 {
		t.Errorf("registration offsets %v: want the jitter to spread them", first)
	}
}

// An instance whose registration fails shows REGISTRATION_FAILED with a
// reason; abandoning its launch action must terminate it, deregister it
// from ECS and launch a replacement that registers, or a gate's ABANDON
// would leave the group short.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerInstance.html (status,
// statusReason), https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html
// (ABANDON on launch terminates the instance).
func TestAbandonedFailedRegistrationIsReplaced(t *testing.T) {
	w := newWorld(t, Options{ShutdownTime: autoscaling.ShutdownAtOnce})
	failed := false
	if err := w.aws.AttachClusterWith("asg", "c1", Agent{
		RegisterAfter: 10 * time.Second, RegisteringFor: 5 * time.Second,
		Fail: func(string) (string, bool) { first := !failed; failed = true; return "", first },
	}); err != nil {
		t.Fatal(err)
	}
	w.group(0, autoscaling.Hook{Name: "gate", Transition: autoscaling.TransitionLaunching, HeartbeatTimeout: 300})
	w.setDesired(1)
	id := w.waiting("gate")[0].InstanceID
	w.advance(10 * time.Second)
	if ci := w.containerInstance(id); ci == nil || aws.ToString(ci.Status) != "REGISTERING" {
		t.Fatalf("10s after boot: %+v, want REGISTERING", ci)
	}
	w.advance(5 * time.Second)
	ci := w.containerInstance(id)
	if ci == nil || aws.ToString(ci.Status) != "REGISTRATION_FAILED" || aws.ToString(ci.StatusReason) != ecs.DefaultFailReason {
		t.Fatalf("15s after boot: %+v, want REGISTRATION_FAILED with the default reason", ci)
	}

	w.complete("gate", id, autoscaling.ResultAbandon)
	w.aws.Settle()
	if got := w.state(id); got != autoscaling.StateTerminated {
		t.Errorf("abandoned: got %s, want Terminated", got)
	}
	if ci := w.containerInstance(id); ci != nil {
		t.Errorf("abandoned: ListContainerInstances still finds %+v, want it deregistered", ci)
	}
	replacement := w.waiting("gate")
	if len(replacement) != 1 || replacement[0].InstanceID == id {
		t.Fatalf("after ABANDON: waiting %+v, want a replacement on the launch hook", replacement)
	}
	w.advance(15 * time.Second)
	if ci := w.containerInstance(replacement[0].InstanceID); ci == nil || aws.ToString(ci.Status) != "ACTIVE" {
		t.Errorf("replacement: %+v, want ACTIVE", ci)
	}
}

// An instance that scale in returned to a warm pool (ReuseOnScaleIn) and
// scale out takes back must come back as the same container instance: the
// agent, disconnected while the instance was stopped, re-registers once the
// instance is on its way InService (Pending:Wait, Origin WarmPool) with its
// ARN, status (DRAINING, if something drained it) and attributes, and the
// reconnection is an event. An instance launched into the pool never
// registers (ECS_WARM_POOLS_CHECK). Otherwise a launch gate could not find
// the instance it drained before the pool, nor re-activate it.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pools-eventbridge-events.html
// (Origin and Destination), https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-warm-pool.html
// (ECS_WARM_POOLS_CHECK), https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html
// (DRAINING lasts "until it is activated again or deleted").
func TestWarmPoolInstanceComesBackAsItsContainerInstance(t *testing.T) {
	w := newWorld(t, Options{BootTime: 10 * time.Second})
	if err := w.aws.AttachClusterWith("asg", "c1", Agent{RegisterAfter: 15 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ids := w.group(1)
	if err := w.aws.AutoScaling.PutWarmPool("asg", autoscaling.WarmPool{MinSize: 1, MaxGroupPreparedCapacity: aws.Int32(2), ReuseOnScaleIn: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.aws.AutoScaling.PutLifecycleHook(autoscaling.Hook{Group: "asg", Name: "gate", Transition: autoscaling.TransitionLaunching, HeartbeatTimeout: 300}); err != nil {
		t.Fatal(err)
	}
	w.advance(25 * time.Second)
	id := ids[0]
	ci := w.containerInstance(id)
	if ci == nil {
		t.Fatal("the group's instance never registered")
	}
	arn := aws.ToString(ci.ContainerInstanceArn)
	for _, a := range w.waiting("gate") {
		// The group's instance, and the pool's own, launched into the pool.
		if want := map[bool]string{true: autoscaling.OriginAutoScalingGroup, false: autoscaling.OriginWarmPool}[a.InstanceID == id]; a.Destination != want {
			t.Fatalf("launch action %+v, want Destination %s", a, want)
		}
		w.complete("gate", a.InstanceID, autoscaling.ResultContinue)
	}
	if _, err := w.ecs.UpdateContainerInstancesState(w.ctx, &sdkecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c1"), ContainerInstances: []string{arn}, Status: ecstypes.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ecs.PutAttributes(w.ctx, &sdkecs.PutAttributesInput{Cluster: aws.String("c1"), Attributes: []ecstypes.Attribute{
		{Name: aws.String("ecs-drainer.chain"), Value: aws.String("x"), TargetId: aws.String(arn)},
	}}); err != nil {
		t.Fatal(err)
	}

	w.setDesired(0) // back into the pool, stopped
	w.advance(autoscaling.DefaultShutdownTime)
	if got := w.state(id); got != autoscaling.StateWarmedStopped {
		t.Fatalf("scaled in: got %s, want Warmed:Stopped", got)
	}
	if ci := w.containerInstance(id); ci == nil || ci.AgentConnected || aws.ToString(ci.Status) != "DRAINING" {
		t.Fatalf("stopped in the pool: %+v, want DRAINING with the agent disconnected", ci)
	}
	for _, other := range w.aws.AutoScaling.WarmInstances("asg") {
		if _, registered := w.aws.ECS.Instance(other.ID); other.ID != id && registered {
			t.Errorf("instance %s launched into the pool registered with ECS", other.ID)
		}
	}

	before := len(w.instanceEvents(id))
	w.setDesired(1)
	w.advance(10 * time.Second) // boots out of the pool
	var back *autoscaling.ActionView
	for _, a := range w.waiting("gate") {
		if a.InstanceID == id {
			back = &a
		}
	}
	if back == nil || back.Origin != autoscaling.OriginWarmPool || back.Destination != autoscaling.OriginAutoScalingGroup {
		t.Fatalf("back out of the pool: launch action %+v, want WarmPool → AutoScalingGroup", back)
	}
	w.advance(14 * time.Second)
	if ci := w.containerInstance(id); ci.AgentConnected {
		t.Fatalf("1s before the agent re-registers: connected, want not yet")
	}
	w.advance(time.Second)
	ci = w.containerInstance(id)
	attrs := map[string]string{}
	for _, a := range ci.Attributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	if aws.ToString(ci.ContainerInstanceArn) != arn || aws.ToString(ci.Status) != "DRAINING" || !ci.AgentConnected || attrs["ecs-drainer.chain"] != "x" {
		t.Errorf("re-registered: ARN %s, status %s, connected %v, attributes %v; want %s, DRAINING, true, the chain mark kept",
			aws.ToString(ci.ContainerInstanceArn), aws.ToString(ci.Status), ci.AgentConnected, attrs, arn)
	}
	if got := w.instanceEvents(id)[before:]; !slices.Equal(got, []string{"DRAINING connected=true"}) {
		t.Errorf("events of the return: got %v, want [DRAINING connected=true]", got)
	}
	if got := w.state(id); got != autoscaling.StatePendingWait {
		t.Errorf("re-registered: got %s, want still Pending:Wait on the launch hook", got)
	}
}
