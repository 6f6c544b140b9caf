package ecs

import (
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Detail types of the events ECS sends to EventBridge
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html).
const (
	DetailTypeTask     = "ECS Task State Change"
	DetailTypeInstance = "ECS Container Instance State Change"
)

// isoTime renders event timestamps: ECS events carry ISO-8601 strings with
// milliseconds, unlike API responses, which carry epoch numbers
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html).
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// taskDetail is the detail of an "ECS Task State Change" event
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html).
type taskDetail struct {
	ClusterArn           string            `json:"clusterArn"`
	TaskArn              string            `json:"taskArn"`
	ContainerInstanceArn string            `json:"containerInstanceArn"`
	TaskDefinitionArn    string            `json:"taskDefinitionArn"`
	Group                string            `json:"group"`
	StartedBy            string            `json:"startedBy,omitempty"`
	LaunchType           string            `json:"launchType"`
	LastStatus           string            `json:"lastStatus"`
	DesiredStatus        string            `json:"desiredStatus"`
	CreatedAt            string            `json:"createdAt"`
	StartedAt            string            `json:"startedAt,omitempty"`
	StoppingAt           string            `json:"stoppingAt,omitempty"`
	StoppedAt            string            `json:"stoppedAt,omitempty"`
	StopCode             string            `json:"stopCode,omitempty"`
	StoppedReason        string            `json:"stoppedReason,omitempty"`
	UpdatedAt            string            `json:"updatedAt"`
	Version              int64             `json:"version"`
	Containers           []containerDetail `json:"containers"`
}

// containerDetail is a task event's container; the emulator runs one per task,
// named after the family.
type containerDetail struct {
	Name       string `json:"name"`
	LastStatus string `json:"lastStatus"`
	TaskArn    string `json:"taskArn"`
}

// instanceDetail is the detail of an "ECS Container Instance State Change"
// event (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_cwe_events.html,
// aws-lambda-go events.ECSContainerInstanceEventDetailType).
type instanceDetail struct {
	AgentConnected       bool            `json:"agentConnected"`
	ClusterArn           string          `json:"clusterArn"`
	ContainerInstanceArn string          `json:"containerInstanceArn"`
	EC2InstanceID        string          `json:"ec2InstanceId"`
	Status               string          `json:"status"`
	StatusReason         string          `json:"statusReason,omitempty"`
	Version              int64           `json:"version"`
	VersionInfo          wireVersionInfo `json:"versionInfo"`
	RegisteredResources  []wireResource  `json:"registeredResources"`
	RemainingResources   []wireResource  `json:"remainingResources"`
	Attributes           []wireAttribute `json:"attributes"`
	RunningTasksCount    int             `json:"runningTasksCount"`
	PendingTasksCount    int             `json:"pendingTasksCount"`
	RegisteredAt         string          `json:"registeredAt"`
	UpdatedAt            string          `json:"updatedAt"`
}

func (s *Server) taskEvent(k *task, at time.Time) awswire.Event {
	w := s.wireTask(k)
	return awswire.Event{
		Source:     "aws.ecs",
		DetailType: DetailTypeTask,
		Resources:  []string{w.TaskArn},
		Detail: taskDetail{
			ClusterArn:           w.ClusterArn,
			TaskArn:              w.TaskArn,
			ContainerInstanceArn: w.ContainerInstanceArn,
			TaskDefinitionArn:    w.TaskDefinitionArn,
			Group:                w.Group,
			StartedBy:            w.StartedBy,
			LaunchType:           w.LaunchType,
			LastStatus:           k.lastStatus,
			DesiredStatus:        k.desiredStatus,
			CreatedAt:            isoTime(k.createdAt),
			StartedAt:            isoTime(k.startedAt),
			StoppingAt:           isoTime(k.stoppingAt),
			StoppedAt:            isoTime(k.stoppedAt),
			StopCode:             k.stopCode,
			StoppedReason:        k.stoppedReason,
			UpdatedAt:            isoTime(at),
			Version:              k.version,
			Containers:           []containerDetail{{Name: k.family, LastStatus: k.lastStatus, TaskArn: w.TaskArn}},
		},
	}
}

func (s *Server) instanceEvent(i *instance, at time.Time) awswire.Event {
	w := s.wireInstance(i)
	return awswire.Event{
		Source:     "aws.ecs",
		DetailType: DetailTypeInstance,
		Resources:  []string{w.ContainerInstanceArn},
		Detail: instanceDetail{
			AgentConnected:       w.AgentConnected,
			ClusterArn:           s.clusterARN(i.cluster),
			ContainerInstanceArn: w.ContainerInstanceArn,
			EC2InstanceID:        w.Ec2InstanceID,
			Status:               w.Status,
			StatusReason:         w.StatusReason,
			Version:              w.Version,
			VersionInfo:          w.VersionInfo,
			RegisteredResources:  w.RegisteredResources,
			RemainingResources:   w.RemainingResources,
			Attributes:           w.Attributes,
			RunningTasksCount:    w.RunningTasksCount,
			PendingTasksCount:    w.PendingTasksCount,
			RegisteredAt:         isoTime(i.registeredAt),
			UpdatedAt:            isoTime(at),
		},
	}
}
