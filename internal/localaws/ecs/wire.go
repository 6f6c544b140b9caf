package ecs

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// epoch renders a time as ECS API responses do: a JSON number of epoch
// seconds, fractional when needed. An ISO string breaks the SDK's
// deserializer (observed with aws-sdk-go-v2 service/ecs).
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Time(e).UnixMilli())/1e3, 'f', -1, 64), nil
}

func (e epoch) IsZero() bool { return time.Time(e).IsZero() }

type wireResource struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	IntegerValue   int      `json:"integerValue"`
	LongValue      int64    `json:"longValue"`
	DoubleValue    float64  `json:"doubleValue"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

type wireAttribute struct {
	Name       string `json:"name"`
	Value      string `json:"value,omitempty"`
	TargetType string `json:"targetType,omitempty"`
	TargetID   string `json:"targetId,omitempty"`
}

type wireVersionInfo struct {
	AgentHash     string `json:"agentHash"`
	AgentVersion  string `json:"agentVersion"`
	DockerVersion string `json:"dockerVersion"`
}

type wireContainerInstance struct {
	ContainerInstanceArn string          `json:"containerInstanceArn"`
	Ec2InstanceID        string          `json:"ec2InstanceId"`
	Status               string          `json:"status"`
	StatusReason         string          `json:"statusReason,omitempty"`
	AgentConnected       bool            `json:"agentConnected"`
	RunningTasksCount    int             `json:"runningTasksCount"`
	PendingTasksCount    int             `json:"pendingTasksCount"`
	Version              int64           `json:"version"`
	RegisteredAt         epoch           `json:"registeredAt,omitzero"`
	VersionInfo          wireVersionInfo `json:"versionInfo"`
	RegisteredResources  []wireResource  `json:"registeredResources"`
	RemainingResources   []wireResource  `json:"remainingResources"`
	Attributes           []wireAttribute `json:"attributes"`
}

type wireTask struct {
	TaskArn              string `json:"taskArn"`
	ClusterArn           string `json:"clusterArn"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	TaskDefinitionArn    string `json:"taskDefinitionArn"`
	Group                string `json:"group"`
	StartedBy            string `json:"startedBy,omitempty"`
	LaunchType           string `json:"launchType"`
	LastStatus           string `json:"lastStatus"`
	DesiredStatus        string `json:"desiredStatus"`
	CreatedAt            epoch  `json:"createdAt,omitzero"`
	StartedAt            epoch  `json:"startedAt,omitzero"`
	StoppingAt           epoch  `json:"stoppingAt,omitzero"`
	StoppedAt            epoch  `json:"stoppedAt,omitzero"`
	StopCode             string `json:"stopCode,omitempty"`
	StoppedReason        string `json:"stoppedReason,omitempty"`
	Version              int64  `json:"version"`
	CPU                  string `json:"cpu"`
	Memory               string `json:"memory"`
}

type wireFailure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// agentVersion is what every emulated agent reports.
var agentVersion = wireVersionInfo{AgentHash: "0000000", AgentVersion: "1.90.0", DockerVersion: "DockerVersion: 25.0.8"}

func (s *Server) wireInstance(i *instance) wireContainerInstance {
	running, pending := i.counts()
	return wireContainerInstance{
		ContainerInstanceArn: s.instanceARN(i.cluster, i.id),
		Ec2InstanceID:        i.ec2ID,
		Status:               i.status,
		StatusReason:         i.statusReason,
		AgentConnected:       i.agentConnected,
		RunningTasksCount:    running,
		PendingTasksCount:    pending,
		Version:              i.version,
		RegisteredAt:         epoch(i.registeredAt),
		VersionInfo:          agentVersion,
		RegisteredResources:  resources(i.cpu, i.memory, nil),
		RemainingResources:   resources(i.remaining()),
		Attributes:           i.wireAttributes(),
	}
}

// resources renders CPU, MEMORY and PORTS the way the agent registers them;
// PORTS lists the reserved ports plus, for remaining resources, those taken.
func resources(cpu, memory int, used []int) []wireResource {
	var ports []string
	for _, p := range append(append([]int(nil), reservedPorts...), used...) {
		ports = append(ports, strconv.Itoa(p))
	}
	return []wireResource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: cpu},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: memory},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: ports},
	}
}

func (s *Server) wireTask(k *task) wireTask {
	return wireTask{
		TaskArn:              s.taskARN(k.cluster, k.id),
		ClusterArn:           s.clusterARN(k.cluster),
		ContainerInstanceArn: s.instanceARN(k.cluster, k.inst.id),
		TaskDefinitionArn:    s.taskDefARN(k.def),
		Group:                k.group(),
		StartedBy:            k.startedBy,
		LaunchType:           "EC2",
		LastStatus:           k.lastStatus,
		DesiredStatus:        k.desiredStatus,
		CreatedAt:            epoch(k.createdAt),
		StartedAt:            epoch(k.startedAt),
		StoppingAt:           epoch(k.stoppingAt),
		StoppedAt:            epoch(k.stoppedAt),
		StopCode:             k.stopCode,
		StoppedReason:        k.stoppedReason,
		Version:              k.version,
		CPU:                  strconv.Itoa(k.cpu),
		Memory:               strconv.Itoa(k.memory),
	}
}

// group is "service:<name>" for service tasks and "family:<family>" for the
// rest, unless RunTask named another
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-groups.html,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html#ECS-RunTask-request-group).
func (k *task) group() string {
	switch {
	case k.svc != nil:
		return "service:" + k.svc.spec.Name
	case k.runGroup != "":
		return k.runGroup
	}
	return "family:" + k.family
}

// pageSize validates maxResults: 1..100, default 100 (the botocore ECS model).
// UNVERIFIED: the error message.
func pageSize(maxResults *int32) (int, *awswire.Error) {
	if maxResults == nil {
		return 100, nil
	}
	if n := *maxResults; n < 1 || n > 100 {
		return 0, invalidParameter("maxResults must be between 1 and 100, got %d.", n)
	}
	return int(*maxResults), nil
}

// Page tokens name the creation sequence of the last item returned, so a page
// boundary survives items appearing or being forgotten in between.
func decodeToken(token *string) (int, *awswire.Error) {
	if token == nil || *token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*token)
	if err == nil {
		if n, err := strconv.Atoi(string(raw)); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, invalidParameter("Invalid nextToken.")
}

// paginate returns the first limit items and, only when more remain, the
// token for the next page: the SDK paginators stop on an absent token
// (aws-sdk-go-v2 service/ecs paginators).
func paginate[T any](items []T, seq func(T) int, limit int) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	token := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(seq(items[limit-1]))))
	return items[:limit], &token
}
