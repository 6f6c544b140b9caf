// Package rules holds the EventBridge event patterns the drainer's rules use.
// It has no CDK dependency, so the construct that deploys the rules and the
// local EventBridge that routes events in tests and the demo share this one
// definition: the rules we deploy are the rules we test. The values the
// patterns select are the contract's, which the function's parser accepts.
package rules

import (
	"encoding/json"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// TerminateLifecycle is the pattern of the rule that starts drains: terminate
// lifecycle actions of the given hooks of the given Auto Scaling groups.
// Auto Scaling sends one event per hook of a transition, and a group carries
// other teams' hooks too; their events are not the drainer's to see.
func TerminateLifecycle(groups, hooks []string) []byte {
	return marshal(map[string]any{
		"source":      []string{contract.SourceAutoScaling},
		"detail-type": []string{contract.DetailTypeTerminate},
		"detail":      map[string]any{"AutoScalingGroupName": groups, "LifecycleHookName": hooks},
	})
}

// ECSTaskStopped is the pattern of the rule that lets a drain end as soon as
// its last task stops: tasks of the given clusters (by name) reaching
// lastStatus STOPPED. ECS events name the cluster by ARN only; a suffix
// match on ":cluster/NAME" selects exactly that cluster in any partition,
// region and account, with no ARN to build (and none to get wrong).
func ECSTaskStopped(clusters []string) []byte {
	return marshal(map[string]any{
		"source":      []string{contract.SourceECS},
		"detail-type": []string{contract.DetailTypeTaskState},
		"detail":      map[string]any{"clusterArn": clusterARNs(clusters), "lastStatus": []string{contract.TaskStopped}},
	})
}

// ECSInstanceDraining is the pattern of the rule that delivers state changes
// of the given clusters' DRAINING container instances: ECS sends one when a
// task leaves the instance, so the drainer sees its count reach zero.
func ECSInstanceDraining(clusters []string) []byte {
	return marshal(map[string]any{
		"source":      []string{contract.SourceECS},
		"detail-type": []string{contract.DetailTypeInstanceState},
		"detail":      map[string]any{"clusterArn": clusterARNs(clusters), "status": []string{contract.InstanceDraining}},
	})
}

func clusterARNs(clusters []string) []any {
	var m []any
	for _, c := range clusters {
		m = append(m, map[string]string{"suffix": ":cluster/" + c})
	}
	return m
}

func marshal(pattern map[string]any) []byte {
	b, err := json.Marshal(pattern)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}
