package localdeploy

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// The own-hook invariant of the soak rests on the recorder: it must keep
// every lifecycle call sent through it, as it named its hook, with the
// answer's status, and nothing sent to the local AWS directly, otherwise the
// other team's completions would read as the drainer's (or the drainer's as
// nobody's).
func TestRecorderKeepsOnlyTheCallsSentThroughIt(t *testing.T) {
	ctx := context.Background()
	a, err := localaws.Start(localaws.Options{ShutdownTime: autoscaling.ShutdownAtOnce})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r, err := startRecorder(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, ids, err := a.AutoScaling.CreateGroup("g", 0, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, hook := range []string{HookName, "log-flush"} {
		if err := a.AutoScaling.PutLifecycleHook(autoscaling.Hook{Group: "g", Name: hook, Transition: autoscaling.TransitionTerminating, HeartbeatTimeout: 300}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := a.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	direct := sdkautoscaling.NewFromConfig(cfg)
	through := sdkautoscaling.NewFromConfig(cfg, func(o *sdkautoscaling.Options) { o.BaseEndpoint = aws.String(r.URL) })
	if _, err := direct.TerminateInstanceInAutoScalingGroup(ctx, terminateInput(ids[0])); err != nil {
		t.Fatal(err)
	}
	other, ok := a.AutoScaling.Action(ids[0], "log-flush")
	if !ok {
		t.Fatal("no log-flush action started")
	}

	complete := func(c *sdkautoscaling.Client, hook, token string) {
		in := &sdkautoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("g"), LifecycleHookName: aws.String(hook),
			LifecycleActionResult: aws.String("CONTINUE"), InstanceId: aws.String(ids[0])}
		if token != "" {
			in.InstanceId, in.LifecycleActionToken = nil, aws.String(token)
		}
		_, _ = c.CompleteLifecycleAction(ctx, in)
	}
	if _, err := through.RecordLifecycleActionHeartbeat(ctx, &sdkautoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String("g"), LifecycleHookName: aws.String(HookName), InstanceId: aws.String(ids[0])}); err != nil {
		t.Fatal(err)
	}
	complete(through, HookName, "")
	complete(through, HookName, "") // already completed: a ValidationError
	complete(direct, "log-flush", other.Token)
	if _, err := through.DescribeAutoScalingGroups(ctx, &sdkautoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
		t.Fatal(err)
	}

	want := []LifecycleCall{
		{Operation: opHeartbeat, Group: "g", Hook: HookName, InstanceID: ids[0], Status: 200},
		{Operation: opComplete, Group: "g", Hook: HookName, InstanceID: ids[0], Result: "CONTINUE", Status: 200},
		{Operation: opComplete, Group: "g", Hook: HookName, InstanceID: ids[0], Result: "CONTINUE", Status: 400},
	}
	got := r.Calls()
	// Each call is its own SDK invocation: two calls never share an id.
	ids2 := map[string]bool{}
	for i := range got {
		if got[i].Invocation == "" || ids2[got[i].Invocation] {
			t.Errorf("call %d: invocation id %q, want a fresh one per call", i, got[i].Invocation)
		}
		ids2[got[i].Invocation] = true
		if got[i].At.IsZero() {
			t.Errorf("call %d: no time", i)
		}
		got[i].Invocation, got[i].At = "", time.Time{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded calls (-want +got):\n%s", diff)
	}
	if got, _ := a.AutoScaling.Action(ids[0], "log-flush"); got.End != autoscaling.EndCompleted {
		t.Errorf("log-flush action ended %q, want completed: the direct call must reach the local AWS", got.End)
	}
}
