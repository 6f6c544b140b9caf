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
	return lifecycle(contract.DetailTypeTerminate, groups, hooks)
}

// LaunchLifecycle is the pattern of the rule that starts launch gates: launch
// lifecycle actions of the given hooks of the given Auto Scaling groups. It
// does not look at Origin or Destination: an instance launching into a warm
// pool is the function's to complete at once, and one leaving the pool is
// gated like a new one.
func LaunchLifecycle(groups, hooks []string) []byte {
	return lifecycle(contract.DetailTypeLaunch, groups, hooks)
}

func lifecycle(detailType string, groups, hooks []string) []byte {
	return marshal(map[string]any{
		"source":      []string{contract.SourceAutoScaling},
		"detail-type": []string{detailType},
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

// ECSInstanceActive is the pattern of the rule that lets a launch gate open
// as soon as ECS can place tasks on the new instance: state changes of the
// given clusters' container instances that are ACTIVE, with their agent
// connected and no task yet. ECS sends one when the agent registers the
// instance and when it connects. The task count keeps out the stream of
// changes every placement and stop makes on instances in service; a gate
// that also waits for daemons sees their tasks at its next poll.
func ECSInstanceActive(clusters []string) []byte {
	return marshal(map[string]any{
		"source":      []string{contract.SourceECS},
		"detail-type": []string{contract.DetailTypeInstanceState},
		"detail": map[string]any{
			"clusterArn":        clusterARNs(clusters),
			"status":            []string{contract.InstanceActive},
			"agentConnected":    []bool{true},
			"runningTasksCount": []any{map[string]any{"numeric": []any{"=", 0}}},
		},
	})
}

// ECSServicePlacementFailure is the pattern of the rule that tells a drain,
// within seconds, that ECS cannot place a replacement for a task it waits on:
// the given clusters' "ECS Service Action" events named
// SERVICE_TASK_PLACEMENT_FAILURE, whose reason (RESOURCE:CPU, RESOURCE:PORTS,
// ...) the diagnosis reads. The service's ARN is in the event's resources,
// so any service of the clusters is selected; the other service actions
// (steady state, deployments) say nothing about a drain.
func ECSServicePlacementFailure(clusters []string) []byte {
	return marshal(map[string]any{
		"source":      []string{contract.SourceECS},
		"detail-type": []string{contract.DetailTypeServiceAction},
		"detail":      map[string]any{"clusterArn": clusterARNs(clusters), "eventName": []string{contract.EventServiceTaskPlacementFailure}},
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
