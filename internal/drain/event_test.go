package drain

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// NextOnEvent must complete an action only for an instance that is DRAINING
// under a chain mark, whose action is pending and that has no task left,
// otherwise an ECS event could release an instance early or complete an
// action that is not the drainer's.
func TestNextOnEvent(t *testing.T) {
	marked := &Chain{MessageID: "m1", Token: "tok", Hook: "hook"}
	withHook := State{Cluster: "c1", HookName: "hook"}
	tests := []struct {
		name string
		s    State
		o    EventObservation
		want Step
	}{
		{"an instance event that still shows tasks costs no call", State{}, EventObservation{TasksShown: true}, Step{Kind: End, Outcome: OutcomeTasksLeft}},
		{"first, the instance is described", State{}, EventObservation{}, Step{Kind: FindInstance}},
		{"a described instance that is busy has tasks left: no Auto Scaling call, no listing", withHook, EventObservation{Instance: busy(), Chain: marked}, Step{Kind: End, Outcome: OutcomeTasksLeft}},
		{"an instance no longer registered is left alone", State{}, EventObservation{Instance: &Instance{}}, Step{Kind: End, Outcome: OutcomeNotDraining}},
		{"an ACTIVE instance is left alone", State{}, EventObservation{Instance: &Instance{Found: true, Status: StatusActive}, Chain: marked}, Step{Kind: End, Outcome: OutcomeNotDraining}},
		{"a DRAINING instance with no chain mark is someone else's drain", State{}, EventObservation{Instance: draining()}, Step{Kind: End, Outcome: OutcomeNotDraining}},
		{"a marked DRAINING instance: is its action still pending?", withHook, EventObservation{Instance: draining(), Chain: marked}, Step{Kind: CheckAction}},
		{"an action already ended is not completed again", withHook, EventObservation{Instance: draining(), Chain: marked, Action: ActionGone}, Step{Kind: End, Outcome: OutcomeActionGone}},
		{"a group outside DRAINER_ASGS or a hook outside DRAINER_HOOKS is left alone", withHook, EventObservation{Instance: draining(), Chain: marked, Action: ActionPending, NotOurs: true}, Step{Kind: End, Outcome: OutcomeNotOurs}},
		{"a pending action: count the tasks", withHook, EventObservation{Instance: draining(), Chain: marked, Action: ActionPending}, Step{Kind: CountTasks}},
		{"tasks left (a stopping one counts): the chain goes on", withHook, EventObservation{Instance: draining(), Chain: marked, Action: ActionPending, TasksCounted: true,
			Tasks: []Task{{ARN: "t1", LastStatus: "RUNNING", DesiredStatus: "STOPPED"}}}, Step{Kind: End, Outcome: OutcomeTasksLeft}},
		{"none left, the mark names the hook: complete", withHook, EventObservation{Instance: draining(), Chain: marked, Action: ActionPending, TasksCounted: true},
			Step{Kind: Complete, Outcome: OutcomeDrained, Result: ResultContinue}},
		{"none left, a mark without the hook: look the hook up", State{Cluster: "c1"}, EventObservation{Instance: draining(), Chain: &Chain{MessageID: "m1"}, Action: ActionPending, TasksCounted: true},
			Step{Kind: DescribeHook}},
		{"none left, no drainer hook on the group: nothing to complete", State{Cluster: "c1"}, EventObservation{Instance: draining(), Chain: &Chain{MessageID: "m1"}, Action: ActionPending, TasksCounted: true, HookMissing: true},
			Step{Kind: End, Outcome: OutcomeHookMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextOnEvent(tt.s, tt.o); got != tt.want {
				t.Errorf("NextOnEvent(%+v, %+v) = %+v, want %+v", tt.s, tt.o, got, tt.want)
			}
		})
	}
}

func taskStopped() lifecycle.ECSEvent {
	return lifecycle.ECSEvent{EventID: "e1", DetailType: lifecycle.DetailTypeTaskState, ClusterARN: "arn:aws:ecs:us-east-1:123456789012:cluster/c1",
		ContainerInstanceARN: testCI, TasksReported: -1}
}

// Settle must complete the action by the mark's token and hook when the last
// task has stopped, with the calls in the cheap-first order, and must stop at
// the first call for an instance that is not draining.
func TestSettleCompletesTheDrainWhoseLastTaskStopped(t *testing.T) {
	mark := Chain{Start: t0, Due: t0.Add(30 * time.Second), MessageID: "m1", Token: "tok", Hook: "hook"}.String()
	tests := []struct {
		name      string
		f         *fakeAWS
		scope     Scope
		want      Outcome
		wantCalls []string
	}{
		{"not draining: one call", &fakeAWS{ciStatus: "ACTIVE", lifecycleState: "InService"}, Scope{}, OutcomeNotDraining,
			[]string{"DescribeContainerInstances"}},
		{"draining with no mark: one call", &fakeAWS{ciStatus: "DRAINING", lifecycleState: "Terminating:Wait"}, Scope{}, OutcomeNotDraining,
			[]string{"DescribeContainerInstances"}},
		{"action gone", &fakeAWS{ciStatus: "DRAINING", chain: mark, lifecycleState: "Terminating:Proceed"}, Scope{}, OutcomeActionGone,
			[]string{"DescribeContainerInstances", "DescribeAutoScalingInstances"}},
		{"another group", &fakeAWS{ciStatus: "DRAINING", chain: mark, lifecycleState: "Terminating:Wait"}, Scope{ASGs: []string{"other"}}, OutcomeNotOurs,
			[]string{"DescribeContainerInstances", "DescribeAutoScalingInstances"}},
		{"a mark of another hook", &fakeAWS{ciStatus: "DRAINING", chain: mark, lifecycleState: "Terminating:Wait"}, Scope{Hooks: []string{"ecs-drainer"}}, OutcomeNotOurs,
			[]string{"DescribeContainerInstances", "DescribeAutoScalingInstances"}},
		{"busy (a task still desired RUNNING): one call", &fakeAWS{ciStatus: "DRAINING", chain: mark, ciRunning: 1, lifecycleState: "Terminating:Wait"}, Scope{}, OutcomeTasksLeft,
			[]string{"DescribeContainerInstances"}},
		{"tasks left", &fakeAWS{ciStatus: "DRAINING", chain: mark, lifecycleState: "Terminating:Wait", tasks: []ecstypes.Task{task(1, "RUNNING", "STOPPED")}}, Scope{ASGs: []string{"asg"}}, OutcomeTasksLeft,
			[]string{"DescribeContainerInstances", "DescribeAutoScalingInstances", "ListTasks:STOPPED", "DescribeTasks"}},
		{"none left: completed", &fakeAWS{ciStatus: "DRAINING", chain: mark, lifecycleState: "Terminating:Wait", tasks: []ecstypes.Task{task(1, "STOPPED", "STOPPED")}}, Scope{ASGs: []string{"asg"}}, OutcomeDrained,
			[]string{"DescribeContainerInstances", "DescribeAutoScalingInstances", "ListTasks:STOPPED", "DescribeTasks", "CompleteLifecycleAction"}},
		{"none left, completed meanwhile by the chain", &fakeAWS{ciStatus: "DRAINING", chain: mark, lifecycleState: "Terminating:Wait",
			errs: map[string]error{"CompleteLifecycleAction": &smithy.GenericAPIError{Code: "ValidationError", Message: "No active Lifecycle Action found with token tok"}}}, Scope{}, OutcomeAlreadyCompleted,
			[]string{"DescribeContainerInstances", "DescribeAutoScalingInstances", "ListTasks:STOPPED", "CompleteLifecycleAction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := alone(newTestDrainer(tt.f, t0.Add(time.Minute))).Settle(context.Background(), taskStopped(), tt.scope)
			if err != nil || res.Outcome != tt.want {
				t.Fatalf("Settle: outcome %s, error %v; want %s", res.Outcome, err, tt.want)
			}
			if diff := cmp.Diff(tt.wantCalls, tt.f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("the action is named by the mark's token and hook", func(t *testing.T) {
		f := &fakeAWS{ciStatus: "DRAINING", chain: mark, lifecycleState: "Terminating:Wait"}
		if _, err := alone(newTestDrainer(f, t0)).Settle(context.Background(), taskStopped(), Scope{}); err != nil {
			t.Fatal(err)
		}
		if len(f.done) != 1 {
			t.Fatalf("%d completions, want 1", len(f.done))
		}
		in := f.done[0]
		if aws.ToString(in.LifecycleActionToken) != "tok" || in.InstanceId != nil || aws.ToString(in.LifecycleHookName) != "hook" ||
			aws.ToString(in.AutoScalingGroupName) != "asg" || aws.ToString(in.LifecycleActionResult) != "CONTINUE" {
			t.Errorf("CompleteLifecycleAction(token %q, instance %v, hook %q, group %q, result %q), want token tok, no instance, hook hook, group asg, CONTINUE",
				aws.ToString(in.LifecycleActionToken), in.InstanceId, aws.ToString(in.LifecycleHookName), aws.ToString(in.AutoScalingGroupName), aws.ToString(in.LifecycleActionResult))
		}
	})
	t.Run("a mark of an earlier build: the hook is the group's drainer hook, the action named by instance", func(t *testing.T) {
		f := &fakeAWS{ciStatus: "DRAINING", chain: Chain{Start: t0, Due: t0, MessageID: "m1"}.String(), lifecycleState: "Terminating:Wait", hookTimeout: 300}
		if _, err := alone(newTestDrainer(f, t0)).Settle(context.Background(), taskStopped(), Scope{}); err != nil {
			t.Fatal(err)
		}
		if len(f.done) != 1 || aws.ToString(f.done[0].LifecycleHookName) != "hook" || aws.ToString(f.done[0].InstanceId) != testInstance || f.done[0].LifecycleActionToken != nil {
			t.Fatalf("completions %+v, want one for hook by instance %s", f.done, testInstance)
		}
	})
}
