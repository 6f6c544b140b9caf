package eventbridge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// terminateRule is the rule our stack puts in front of the drainer's queue:
// terminate lifecycle actions of the groups it drains.
const terminateRule = `{"source":["aws.autoscaling"],"detail-type":["EC2 Instance-terminate Lifecycle Action"],
 "detail":{"AutoScalingGroupName":["asg-a","asg-b"]}}`

// stoppedTaskRule selects the tasks that stopped in one cluster.
const stoppedTaskRule = `{"source":["aws.ecs"],"detail-type":["ECS Task State Change"],
 "detail":{"lastStatus":["STOPPED"],"clusterArn":["arn:aws:ecs:us-east-1:123456789012:cluster/prod"]}}`

// sample reads a real AWS event from the lifecycle package's testdata and,
// if asg is not empty, moves it to that group.
func sample(t *testing.T, file, asg string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "lifecycle", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	if asg == "" {
		return string(b)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	ev["detail"].(map[string]any)["AutoScalingGroupName"] = asg
	b, err = json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The drainer must see the terminate actions of its groups and nothing else:
// a missed event leaves an instance to be killed with tasks on it, an extra
// one costs an invocation that must then be dropped.
func TestTerminateRuleSelectsTheTerminateActionsOfItsGroups(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"a terminate action of asg-a matches",
			terminateRule, sample(t, "terminate-action.json", "asg-a"), true},
		{"a terminate action of asg-b without metadata matches",
			terminateRule, sample(t, "terminate-action-no-metadata.json", "asg-b"), true},
		{"a terminate action into the warm pool of asg-a matches: the rule does not look at Destination",
			terminateRule, sample(t, "warm-pool-terminate-action.json", "asg-a"), true},
		{"a terminate action of another group does not match",
			terminateRule, sample(t, "terminate-action.json", ""), false},
		{"a group whose name starts with a listed one does not match",
			terminateRule, sample(t, "terminate-action.json", "asg-a-blue"), false},
		{"a launch action of asg-a does not match",
			terminateRule, sample(t, "launch-action.json", "asg-a"), false},
		{"an ECS container instance state change does not match",
			terminateRule, sample(t, "ecs-container-instance-state-change.json", ""), false},
		{"a spot interruption warning does not match",
			terminateRule, sample(t, "spot-interruption.json", ""), false},
	})
}

// ecsEvent is an ECS event as the local ECS emits it, in its envelope.
func ecsEvent(t *testing.T, detailType string, detail map[string]any) string {
	t.Helper()
	b, err := Envelope(awswire.Event{Source: "aws.ecs", DetailType: detailType, Detail: detail},
		"123456789012", "us-east-1", time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A task rule must select on the task's own status and cluster: the status
// of its containers or of another cluster's tasks must not leak in.
func TestStoppedTaskRuleSelectsStoppedTasksOfItsCluster(t *testing.T) {
	const prod, staging = "arn:aws:ecs:us-east-1:123456789012:cluster/prod", "arn:aws:ecs:us-east-1:123456789012:cluster/staging"
	task := func(cluster, status, containerStatus string) map[string]any {
		return map[string]any{
			"clusterArn": cluster, "lastStatus": status, "desiredStatus": "STOPPED", "version": 3,
			"containers": []any{map[string]any{"name": "app", "lastStatus": containerStatus}},
		}
	}
	runMatchCases(t, []matchCase{
		{"a task stopped in prod matches",
			stoppedTaskRule, ecsEvent(t, "ECS Task State Change", task(prod, "STOPPED", "STOPPED")), true},
		{"a task stopping in prod does not match",
			stoppedTaskRule, ecsEvent(t, "ECS Task State Change", task(prod, "DEPROVISIONING", "STOPPED")), false},
		{"a task stopped in staging does not match",
			stoppedTaskRule, ecsEvent(t, "ECS Task State Change", task(staging, "STOPPED", "STOPPED")), false},
		{"a container instance change in prod does not match",
			stoppedTaskRule, ecsEvent(t, "ECS Container Instance State Change",
				map[string]any{"clusterArn": prod, "status": "DRAINING", "lastStatus": "STOPPED"}), false},
	})
}
