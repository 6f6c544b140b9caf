package lifecycle

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Values of the ECS events that let a drain finish as soon as its last task
// stops (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html):
// the contract's, which the construct's rules select.
const (
	SourceECS               = contract.SourceECS
	DetailTypeTaskState     = contract.DetailTypeTaskState
	DetailTypeInstanceState = contract.DetailTypeInstanceState
)

// ECSEvent is what an ECS task or container instance state change says about
// one container instance: a hint that its drain may be over. The drainer
// trusts none of it beyond which instance to look at; whether the instance is
// draining, whether its action is pending and whether tasks are left are
// read again from the APIs.
type ECSEvent struct {
	EventID    string
	Time       time.Time
	DetailType string
	ClusterARN string
	// ContainerInstanceARN is the instance the task ran on, or the
	// instance whose state changed.
	ContainerInstanceARN string
	// EC2InstanceID is set by container instance events only.
	EC2InstanceID string
	// TaskARN and StoppedAt are set by task events only.
	TaskARN   string
	StoppedAt time.Time
	// TasksReported is the instance event's runningTasksCount plus
	// pendingTasksCount; -1 for a task event, which reports none.
	TasksReported int
	// Reserved is set by an instance event whose remaining CPU or memory
	// is below what the instance registered: a task still holds it.
	Reserved bool
	// Status is a container instance event's status: DRAINING (a drain
	// may be over) or ACTIVE with its agent connected (a launch may be
	// ready); "" for a task event.
	Status string
}

// Ready reports whether the event says a container instance is ACTIVE with
// its agent connected: a hint for the launch gate, never a proof.
func (e ECSEvent) Ready() bool { return e.Status == contract.InstanceActive }

// Reserved reports whether a container instance's remaining CPU or memory is
// below what it registered (resource name to integer value). ECS returns a
// task's reservation only when the task reaches STOPPED, so a reservation
// means a task, maybe one told to stop but still shutting down, is on the
// instance. It is only ever used to skip a check, never to release.
func Reserved(registered, remaining map[string]int) bool {
	for _, name := range []string{"CPU", "MEMORY"} {
		reg, okReg := registered[name]
		rem, okRem := remaining[name]
		if okReg && okRem && rem < reg {
			return true
		}
	}
	return false
}

// ShowsTasks reports whether the event itself shows tasks left on the
// instance, as of the event: no call can then find it drained.
func (e ECSEvent) ShowsTasks() bool { return e.TasksReported > 0 || e.Reserved }

// Cluster is the cluster's name, the last part of its ARN
// (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME).
func (e ECSEvent) Cluster() string {
	if _, name, ok := strings.Cut(e.ClusterARN, ":cluster/"); ok {
		return name
	}
	return e.ClusterARN
}

// ecsTaskDetail is the part of a task event's detail the drainer reads.
type ecsTaskDetail struct {
	ClusterArn           string `json:"clusterArn"`
	TaskArn              string `json:"taskArn"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	LastStatus           string `json:"lastStatus"`
	StoppedAt            string `json:"stoppedAt"`
}

// ecsInstanceDetail is the part of a container instance event's detail the
// drainer reads.
type ecsInstanceDetail struct {
	ClusterArn           string        `json:"clusterArn"`
	ContainerInstanceArn string        `json:"containerInstanceArn"`
	EC2InstanceID        string        `json:"ec2InstanceId"`
	Status               string        `json:"status"`
	AgentConnected       bool          `json:"agentConnected"`
	RunningTasksCount    int           `json:"runningTasksCount"`
	PendingTasksCount    int           `json:"pendingTasksCount"`
	RegisteredResources  []ecsResource `json:"registeredResources"`
	RemainingResources   []ecsResource `json:"remainingResources"`
}

type ecsResource struct {
	Name         string `json:"name"`
	IntegerValue int    `json:"integerValue"`
}

func integerResources(rs []ecsResource) map[string]int {
	m := make(map[string]int, len(rs))
	for _, r := range rs {
		m[r.Name] = r.IntegerValue
	}
	return m
}

// parseECS reads an ECS event. Only a task that reached STOPPED on a
// container instance, or a container instance that is DRAINING, can end a
// drain, and only a container instance that is ACTIVE with its agent
// connected can open the launch gate; anything else (the rule's pattern
// lets none through) is ignored.
func parseECS(env Envelope) (Input, error) {
	if len(env.Detail) == 0 || string(env.Detail) == "null" {
		return Input{}, fmt.Errorf("ECS event %s has no detail", env.ID)
	}
	e := ECSEvent{EventID: env.ID, Time: env.Time, DetailType: env.DetailType, TasksReported: -1}
	switch env.DetailType {
	case DetailTypeTaskState:
		var d ecsTaskDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil {
			return Input{}, fmt.Errorf("decoding ECS task event %s: %w", env.ID, err)
		}
		if d.LastStatus != contract.TaskStopped {
			return Input{Ignored: fmt.Sprintf("task event with lastStatus %q, not %s", d.LastStatus, contract.TaskStopped)}, nil
		}
		if d.ContainerInstanceArn == "" {
			return Input{Ignored: "task event of a task on no container instance (Fargate)"}, nil
		}
		e.ClusterARN, e.ContainerInstanceARN, e.TaskARN = d.ClusterArn, d.ContainerInstanceArn, d.TaskArn
		if d.StoppedAt != "" {
			t, err := time.Parse(time.RFC3339Nano, d.StoppedAt)
			if err != nil {
				return Input{}, fmt.Errorf("ECS task event %s has stoppedAt %q: %w", env.ID, d.StoppedAt, err)
			}
			e.StoppedAt = t
		}
	case DetailTypeInstanceState:
		var d ecsInstanceDetail
		if err := json.Unmarshal(env.Detail, &d); err != nil {
			return Input{}, fmt.Errorf("decoding ECS container instance event %s: %w", env.ID, err)
		}
		switch {
		case d.Status == contract.InstanceActive && !d.AgentConnected:
			return Input{Ignored: "container instance event of an ACTIVE instance whose agent is not connected"}, nil
		case d.Status != contract.InstanceDraining && d.Status != contract.InstanceActive:
			return Input{Ignored: fmt.Sprintf("container instance event with status %q, not %s or %s", d.Status, contract.InstanceDraining, contract.InstanceActive)}, nil
		}
		e.Status = d.Status
		e.ClusterARN, e.ContainerInstanceARN, e.EC2InstanceID = d.ClusterArn, d.ContainerInstanceArn, d.EC2InstanceID
		e.TasksReported = d.RunningTasksCount + d.PendingTasksCount
		e.Reserved = Reserved(integerResources(d.RegisteredResources), integerResources(d.RemainingResources))
	default:
		return Input{Ignored: fmt.Sprintf("event %q from %q is not a task or container instance state change", env.DetailType, env.Source)}, nil
	}
	switch {
	case e.ClusterARN == "":
		return Input{}, fmt.Errorf("ECS event %s has no clusterArn", env.ID)
	case e.ContainerInstanceARN == "":
		return Input{}, fmt.Errorf("ECS event %s has no containerInstanceArn", env.ID)
	case e.EC2InstanceID != "" && !ValidInstanceID(e.EC2InstanceID):
		return Input{}, fmt.Errorf("ECS event %s has ec2InstanceId %q, not an EC2 instance id", env.ID, e.EC2InstanceID)
	}
	return Input{ECS: &e}, nil
}
