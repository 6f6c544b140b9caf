package rules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
)

func TestTerminateLifecycleNamesTheGroupsAndTheHooks(t *testing.T) {
	got := string(TerminateLifecycle([]string{"asg-a", "asg-b"}, []string{"ecs-drainer"}))
	want := `{"detail":{"AutoScalingGroupName":["asg-a","asg-b"],"LifecycleHookName":["ecs-drainer"]},"detail-type":["EC2 Instance-terminate Lifecycle Action"],"source":["aws.autoscaling"]}`
	if got != want {
		t.Fatalf("TerminateLifecycle = %s, want %s", got, want)
	}
}

func TestLaunchLifecycleNamesTheGroupsAndTheHooks(t *testing.T) {
	got := string(LaunchLifecycle([]string{"asg-a", "asg-b"}, []string{"ecs-drainer-launch"}))
	want := `{"detail":{"AutoScalingGroupName":["asg-a","asg-b"],"LifecycleHookName":["ecs-drainer-launch"]},"detail-type":["EC2 Instance-launch Lifecycle Action"],"source":["aws.autoscaling"]}`
	if got != want {
		t.Fatalf("LaunchLifecycle = %s, want %s", got, want)
	}
}

func TestECSPatternsSelectTheClustersByARNSuffix(t *testing.T) {
	got := string(ECSTaskStopped([]string{"web", "api"}))
	want := `{"detail":{"clusterArn":[{"suffix":":cluster/web"},{"suffix":":cluster/api"}],"lastStatus":["STOPPED"]},"detail-type":["ECS Task State Change"],"source":["aws.ecs"]}`
	if got != want {
		t.Errorf("ECSTaskStopped = %s, want %s", got, want)
	}
	got = string(ECSInstanceDraining([]string{"web"}))
	want = `{"detail":{"clusterArn":[{"suffix":":cluster/web"}],"status":["DRAINING"]},"detail-type":["ECS Container Instance State Change"],"source":["aws.ecs"]}`
	if got != want {
		t.Errorf("ECSInstanceDraining = %s, want %s", got, want)
	}
	got = string(ECSServicePlacementFailure([]string{"web"}))
	want = `{"detail":{"clusterArn":[{"suffix":":cluster/web"}],"eventName":["SERVICE_TASK_PLACEMENT_FAILURE"]},"detail-type":["ECS Service Action"],"source":["aws.ecs"]}`
	if got != want {
		t.Errorf("ECSServicePlacementFailure = %s, want %s", got, want)
	}
	got = string(ECSInstanceActive([]string{"web"}))
	want = `{"detail":{"agentConnected":[true],"clusterArn":[{"suffix":":cluster/web"}],"runningTasksCount":[{"numeric":["=",0]}],"status":["ACTIVE"]},"detail-type":["ECS Container Instance State Change"],"source":["aws.ecs"]}`
	if got != want {
		t.Errorf("ECSInstanceActive = %s, want %s", got, want)
	}
}

// sample reads a real AWS event: from this package's testdata, or from the
// function's parser's (internal/lifecycle/testdata) when it is there, with
// the fields in set changed (detail fields by name, "detail-type" at the
// top).
func sample(t *testing.T, file string, set map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if os.IsNotExist(err) {
		b, err = os.ReadFile(filepath.Join("..", "..", "internal", "lifecycle", "testdata", file))
	}
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for k, v := range set {
		if k == "detail-type" {
			ev[k] = v
			continue
		}
		if v == nil {
			delete(ev["detail"].(map[string]any), k)
			continue
		}
		ev["detail"].(map[string]any)[k] = v
	}
	if b, err = json.Marshal(ev); err != nil {
		t.Fatal(err)
	}
	return b
}

type matchCase struct {
	name  string
	event []byte
	want  bool
}

// matches runs the cases through the local EventBridge's matcher, which
// implements the EventBridge user guide's pattern semantics (and is what
// routes the demo's and the end-to-end tests' events).
func matches(t *testing.T, pattern []byte, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eventbridge.Match(pattern, tc.event)
			if err != nil {
				t.Fatalf("Match(%s): %v", pattern, err)
			}
			if got != tc.want {
				t.Errorf("pattern %s on %s: got %v, want %v", pattern, tc.event, got, tc.want)
			}
		})
	}
}

// The launch rule must deliver every launch action of the drainer's launch
// hook on its groups, the warm pool's included, and nothing else: a missed
// one holds the instance out of service for a heartbeat timeout (the hook
// then CONTINUEs, ungated); another hook's action is another team's to
// complete, and the drainer would complete it for them.
func TestLaunchLifecycleSelectsTheLaunchActionsOfItsHookOnItsGroups(t *testing.T) {
	pattern := LaunchLifecycle([]string{"asg-a", "asg-b"}, []string{contract.LaunchHookName})
	ours := func(more map[string]any) map[string]any {
		set := map[string]any{"AutoScalingGroupName": "asg-b", "LifecycleHookName": contract.LaunchHookName}
		for k, v := range more {
			set[k] = v
		}
		return set
	}
	matches(t, pattern, []matchCase{
		{"a launch action of the launch hook on asg-b matches",
			sample(t, "launch-action.json", ours(nil)), true},
		{"a launch into the warm pool matches: the function completes it at once",
			sample(t, "launch-action.json", ours(map[string]any{"Destination": contract.DestinationWarmPool})), true},
		{"a launch out of the warm pool matches: it is gated like a new instance",
			sample(t, "launch-action.json", ours(map[string]any{"Origin": contract.OriginWarmPool})), true},
		{"another hook's launch action on asg-b does not match",
			sample(t, "launch-action.json", ours(map[string]any{"LifecycleHookName": "my-launch-hook"})), false},
		{"the launch hook's action on another group does not match",
			sample(t, "launch-action.json", ours(map[string]any{"AutoScalingGroupName": "asg-c"})), false},
		{"a terminate action of the launch hook's name does not match",
			sample(t, "terminate-action.json", ours(nil)), false},
	})
	t.Run("the terminate rule does not take launch actions", func(t *testing.T) {
		matches(t, TerminateLifecycle([]string{"asg-b"}, []string{contract.HookName, contract.LaunchHookName}), []matchCase{
			{"a launch action of either hook", sample(t, "launch-action.json", ours(nil)), false},
		})
	})
}

// The ACTIVE rule must deliver a new instance's registration and agent
// connect in the drainer's clusters, so the gate opens within seconds
// instead of at its next poll, and must leave out the changes every task
// placement and stop makes on the instances in service, which would
// otherwise cost an invocation each.
func TestECSInstanceActiveSelectsNewConnectedInstancesOfItsClusters(t *testing.T) {
	pattern := ECSInstanceActive([]string{"default", "batch"})
	cluster := func(name string) map[string]any {
		return map[string]any{"clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/" + name}
	}
	matches(t, pattern, []matchCase{
		{"a registration in default matches",
			sample(t, "ecs-container-instance-registered.json", nil), true},
		{"a registration whose first (daemon) task is pending matches",
			sample(t, "ecs-container-instance-registered.json", map[string]any{"pendingTasksCount": 1}), true},
		{"an instance in service with tasks running does not match",
			sample(t, "ecs-container-instance-registered.json", map[string]any{"runningTasksCount": 3}), false},
		{"an instance whose agent disconnected does not match (no placement possible)",
			sample(t, "ecs-container-instance-registered.json", map[string]any{"agentConnected": false}), false},
		{"a registration still REGISTERING does not match",
			sample(t, "ecs-container-instance-registered.json", map[string]any{"status": "REGISTERING"}), false},
		{"a registration in another cluster does not match",
			sample(t, "ecs-container-instance-registered.json", cluster("staging")), false},
		{"a cluster whose name ends with a listed one does not match",
			sample(t, "ecs-container-instance-registered.json", cluster("my-default")), false},
		{"a DRAINING instance does not match",
			sample(t, "ecs-container-instance-draining.json", nil), false},
		{"an event without runningTasksCount does not match (the gate's poll then opens it)",
			sample(t, "ecs-container-instance-registered.json", map[string]any{"runningTasksCount": nil}), false},
		{"a task state change does not match",
			sample(t, "ecs-task-stopped.json", map[string]any{"clusterArn": "arn:aws:ecs:us-east-1:111122223333:cluster/default"}), false},
	})
	t.Run("the DRAINING rule takes no registration, and still takes a DRAINING instance", func(t *testing.T) {
		matches(t, ECSInstanceDraining([]string{"default"}), []matchCase{
			{"a registration", sample(t, "ecs-container-instance-registered.json", nil), false},
			{"a DRAINING instance", sample(t, "ecs-container-instance-draining.json", nil), true},
		})
	})
}

// The placement failure rule must deliver ECS's word that a service cannot
// place a task in the drainer's clusters, so a drain that waits on that
// task is diagnosed within seconds rather than at its next poll; and it must
// leave out the other service actions (a steady state is reported every few
// minutes per service) and other clusters', which would each cost an
// invocation. The sample is the EC2 example of the ECS developer guide's
// "Amazon ECS service action events" page (RESOURCE:CPU on container
// instance 2dd1b186..., cluster default).
func TestECSServicePlacementFailureSelectsPlacementFailuresOfItsClusters(t *testing.T) {
	pattern := ECSServicePlacementFailure([]string{"default", "batch"})
	const file = "ecs-service-action-placement-failure.json"
	matches(t, pattern, []matchCase{
		{"a placement failure in default matches", sample(t, file, nil), true},
		{"a placement failure for lack of ports matches",
			sample(t, file, map[string]any{"reason": "RESOURCE:PORTS"}), true},
		{"a placement failure with no container instance named matches",
			sample(t, file, map[string]any{"containerInstanceArns": nil}), true},
		{"a placement failure in another cluster does not match",
			sample(t, file, map[string]any{"clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/staging"}), false},
		{"a cluster whose name ends with a listed one does not match",
			sample(t, file, map[string]any{"clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/my-default"}), false},
		{"a steady state of a service in default does not match",
			sample(t, file, map[string]any{"eventType": "INFO", "eventName": "SERVICE_STEADY_STATE", "reason": nil}), false},
		{"a container instance state change does not match",
			sample(t, file, map[string]any{"detail-type": contract.DetailTypeInstanceState}), false},
	})
}
