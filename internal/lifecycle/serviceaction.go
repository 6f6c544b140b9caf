package lifecycle

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// ServiceAction is an "ECS Service Action" event saying ECS could not place a
// service's task (SERVICE_TASK_PLACEMENT_FAILURE), with its reason
// ("RESOURCE:PORTS", "RESOURCE:CPU", "AGENT", ...): a drain waiting for that
// service's tasks to move can say why within seconds, not at its next look
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html).
type ServiceAction struct {
	EventID    string
	Time       time.Time
	ClusterARN string
	ServiceARN string
	Reason     string
}

// Cluster is the cluster's name, the last part of its ARN.
func (e ServiceAction) Cluster() string { return ECSEvent{ClusterARN: e.ClusterARN}.Cluster() }

// Service is the service's name, the last part of its ARN (service/NAME or
// service/CLUSTER/NAME).
func (e ServiceAction) Service() string {
	return e.ServiceARN[strings.LastIndex(e.ServiceARN, "/")+1:]
}

// parseServiceAction reads an ECS Service Action event; only a placement
// failure of a named service is the drainer's to read.
func parseServiceAction(env Envelope) (Input, error) {
	var d struct {
		EventName  string `json:"eventName"`
		ClusterArn string `json:"clusterArn"`
		Reason     string `json:"reason"`
	}
	if len(env.Detail) == 0 || string(env.Detail) == "null" {
		return Input{}, fmt.Errorf("ECS Service Action event %s has no detail", env.ID)
	}
	if err := json.Unmarshal(env.Detail, &d); err != nil {
		return Input{}, fmt.Errorf("decoding ECS Service Action event %s: %w", env.ID, err)
	}
	if d.EventName != contract.EventServiceTaskPlacementFailure {
		return Input{Ignored: fmt.Sprintf("service action %q, not %s", d.EventName, contract.EventServiceTaskPlacementFailure)}, nil
	}
	if d.ClusterArn == "" || len(env.Resources) == 0 || !strings.Contains(env.Resources[0], ":service/") {
		return Input{}, fmt.Errorf("ECS Service Action event %s names no cluster or service", env.ID)
	}
	return Input{ServiceAction: &ServiceAction{EventID: env.ID, Time: env.Time, ClusterARN: d.ClusterArn, ServiceARN: env.Resources[0], Reason: d.Reason}}, nil
}
