package handler_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkautoscaling "github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/ecs"
)

// bystander is another team's terminate hook on the drainer's group, with
// the plain-text metadata of AWS's own sample event.
const bystander = "log-flush"

func (r *rig) bystanderHook() {
	r.t.Helper()
	if err := r.aws.AutoScaling.PutLifecycleHook(autoscaling.Hook{
		Group: group, Name: bystander, Transition: autoscaling.TransitionTerminating, HeartbeatTimeout: 3600,
		DefaultResult: autoscaling.ResultContinue, NotificationMetadata: "additional-info",
	}); err != nil {
		r.t.Fatal(err)
	}
}

// Auto Scaling sends one terminate event per hook and releases the instance
// only when every hook's action has ended
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html).
// The drainer must drain and complete its own action only: the other hook's
// event is ignored (not sent to the DLQ), its action is never completed or
// heartbeated by us, the instance waits in Terminating:Wait for it, the first
// hop warns that it does, and the reconciler's sweeps do not restart the
// drain whose action has ended while the other hook still holds the instance.
func TestAnotherTeamsHookOnTheGroupIsLeftAlone(t *testing.T) {
	r := newRig(t, defaultPolicy)
	ids := r.group(2, true, ecs.Resources{}, 300)
	r.bystanderHook()
	r.runTask(ids[0], ecs.TaskSpec{Family: "job", CPU: 256, Memory: 512, RunFor: 2 * time.Minute})
	r.terminate(ids[0])
	r.run(10 * time.Minute)

	r.assertReleasedCleanly(ids[0])
	other, ok := r.aws.AutoScaling.Action(ids[0], bystander)
	if !ok || !other.Active || other.Heartbeats != 0 {
		t.Fatalf("the other hook's action: found %v, active %v, heartbeats %d; want it active and untouched", ok, other.Active, other.Heartbeats)
	}
	if in, _ := r.aws.AutoScaling.Instance(ids[0]); in.LifecycleState != "Terminating:Wait" {
		t.Fatalf("instance state %s, want Terminating:Wait until the other hook's action ends", in.LifecycleState)
	}
	if n, _, _ := r.aws.SQS.Counts(r.dlqURL); n != 0 {
		t.Errorf("%d records in the DLQ, want none: the other hook's event is not an error", n)
	}
	var warned, ignored bool
	for _, l := range r.logLines() {
		if others, ok := l["other_hooks"].([]any); ok && l["level"] == "WARN" && slices.Contains(others, any(bystander)) {
			warned = true
		}
		if l["msg"] == "record ignored" && l["hook"] == bystander {
			ignored = true
		}
	}
	if !warned || !ignored {
		t.Errorf("warned of the other hook %v, ignored its event %v; want both", warned, ignored)
	}

	for range 3 {
		before := r.queued()
		r.invokeDirect(testdataBody(t, "scheduled-event.json"))
		if got := r.queued(); got != before {
			t.Fatalf("a sweep restarted a drain whose action has ended (%d queued)", got-before)
		}
		r.clk.Advance(time.Minute)
	}

	if _, err := r.asg.CompleteLifecycleAction(context.Background(), &sdkautoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(group), LifecycleHookName: aws.String(bystander), InstanceId: aws.String(ids[0]), LifecycleActionResult: aws.String("CONTINUE"),
	}); err != nil {
		t.Fatal(err)
	}
	r.aws.Settle()
	if in, _ := r.aws.AutoScaling.Instance(ids[0]); in.LifecycleState == "Terminating:Wait" {
		t.Errorf("instance still in Terminating:Wait once every hook's action ended")
	}
}

// An instance terminated out of the warm pool waits in
// Warmed:Terminating:Wait on the drainer's hook
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html).
// Its event lost, the reconciler finds it through DescribeWarmPool (the
// group's own listing leaves warm instances out) and the restarted drain
// completes its action, not after the heartbeat timeout.
func TestTheReconcilerFindsAWarmPoolInstanceWaiting(t *testing.T) {
	r := newRig(t, defaultPolicy)
	r.group(1, true, ecs.Resources{}, 300)
	if err := r.aws.AutoScaling.PutWarmPool(group, autoscaling.WarmPool{MinSize: 1}); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(5 * time.Minute)
	r.aws.Settle()
	warm := r.aws.AutoScaling.WarmInstances(group)
	if len(warm) == 0 {
		t.Fatal("no warm pool instance")
	}
	id := warm[0].ID
	if _, err := r.asg.TerminateInstanceInAutoScalingGroup(context.Background(), &sdkautoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(id), ShouldDecrementDesiredCapacity: aws.Bool(false),
	}); err != nil {
		t.Fatal(err)
	}
	r.aws.Settle()
	r.mu.Lock()
	r.events = nil // the lifecycle event is lost
	r.mu.Unlock()
	if in, _ := r.aws.AutoScaling.Instance(id); in.LifecycleState != "Warmed:Terminating:Wait" {
		t.Fatalf("warm instance state %s, want Warmed:Terminating:Wait", in.LifecycleState)
	}
	r.invokeDirect(testdataBody(t, "scheduled-event.json"))
	if got := r.queued(); got != 1 {
		t.Fatalf("the sweep queued %d restarts, want 1", got)
	}
	r.run(5 * time.Minute)
	a := r.action(id)
	if a.Active || a.End != autoscaling.EndCompleted || a.Result != autoscaling.ResultContinue {
		t.Fatalf("warm instance's action: active %v, end %q, result %q; want completed with CONTINUE by the restarted drain", a.Active, a.End, a.Result)
	}
}
