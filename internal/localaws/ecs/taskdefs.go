package ecs

import (
	"strconv"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Network modes a task definition may have on EC2 here
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#network_mode).
const (
	NetworkModeBridge = "bridge"
	NetworkModeHost   = "host"
)

// taskDef is a task definition revision. The emulator registers one for
// each distinct shape a ServiceSpec or TaskSpec gives a family: the first
// shape is revision 1, a later different one the next revision, and a shape
// seen before reuses its revision, so DescribeTaskDefinition can answer for
// every taskDefinitionArn that DescribeServices and DescribeTasks return.
type taskDef struct {
	family       string
	revision     int
	cpu, memory  int
	networkMode  string
	hostPort     int // 0: none, or dynamic when containerPort is set (bridge)
	container    int // containerPort; 0: no port mapping
	registeredAt time.Time
}

func (d *taskDef) sameShape(o *taskDef) bool {
	return d.cpu == o.cpu && d.memory == o.memory && d.networkMode == o.networkMode &&
		d.hostPort == o.hostPort && d.container == o.container
}

// registerTaskDef returns the revision of family with the given shape,
// registering a new one when the family has no revision of that shape.
func (s *Server) registerTaskDef(at time.Time, shape taskDef) *taskDef {
	revs := s.taskDefs[shape.family]
	for _, d := range revs {
		if d.sameShape(&shape) {
			return d
		}
	}
	d := shape
	d.revision, d.registeredAt = len(revs)+1, at
	if s.taskDefs == nil {
		s.taskDefs = map[string][]*taskDef{}
	}
	s.taskDefs[d.family] = append(revs, &d)
	return &d
}

func (s *Server) taskDefARN(d *taskDef) string {
	return s.arn("task-definition/" + d.family + ":" + strconv.Itoa(d.revision))
}

// portShape normalizes a spec's ports the way RegisterTaskDefinition reads
// them: in host mode the container listens on the host's port, so hostPort
// and containerPort are one value ("the hostPort can either be left blank or
// set to the same value as the containerPort",
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html);
// in bridge mode a fixed hostPort without a containerPort maps the same port.
// It returns the host port a task reserves (0 for none or dynamic).
func portShape(mode string, hostPort, containerPort int) (m string, host, container int, ok bool) {
	switch mode {
	case "", NetworkModeBridge:
		if containerPort == 0 {
			containerPort = hostPort
		}
		return NetworkModeBridge, hostPort, containerPort, hostPort >= 0 && containerPort >= 0
	case NetworkModeHost:
		if hostPort == 0 {
			hostPort = containerPort
		}
		if containerPort == 0 {
			containerPort = hostPort
		}
		return NetworkModeHost, hostPort, containerPort, hostPort == containerPort && hostPort >= 0
	}
	return "", 0, 0, false
}

type wirePortMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

type wireContainerDefinition struct {
	Name         string            `json:"name"`
	Image        string            `json:"image"`
	CPU          int               `json:"cpu"`
	Memory       int               `json:"memory,omitempty"`
	Essential    bool              `json:"essential"`
	PortMappings []wirePortMapping `json:"portMappings"`
}

type wireTaskDefinition struct {
	TaskDefinitionArn       string                    `json:"taskDefinitionArn"`
	Family                  string                    `json:"family"`
	Revision                int                       `json:"revision"`
	Status                  string                    `json:"status"`
	NetworkMode             string                    `json:"networkMode"`
	ContainerDefinitions    []wireContainerDefinition `json:"containerDefinitions"`
	CPU                     string                    `json:"cpu,omitempty"`
	Memory                  string                    `json:"memory,omitempty"`
	RequiresCompatibilities []string                  `json:"requiresCompatibilities"`
	Compatibilities         []string                  `json:"compatibilities"`
	PlacementConstraints    []wirePlacementConstraint `json:"placementConstraints"`
	RegisteredAt            epoch                     `json:"registeredAt,omitzero"`
}

// wireTaskDefinition renders d as DescribeTaskDefinition does: one
// essential container named after the family, whose cpu and memory are the
// task's (task-level cpu and memory are strings in the API model, container
// ones integers), and its port mapping. UNVERIFIED: the image, a
// placeholder; the emulator runs no containers.
func (s *Server) wireTaskDefinition(d *taskDef) wireTaskDefinition {
	c := wireContainerDefinition{
		Name: d.family, Image: "public.ecr.aws/docker/library/" + d.family + ":latest",
		CPU: d.cpu, Memory: d.memory, Essential: true, PortMappings: []wirePortMapping{},
	}
	if d.container != 0 {
		c.PortMappings = append(c.PortMappings, wirePortMapping{ContainerPort: d.container, HostPort: d.hostPort, Protocol: "tcp"})
	}
	w := wireTaskDefinition{
		TaskDefinitionArn: s.taskDefARN(d), Family: d.family, Revision: d.revision, Status: "ACTIVE",
		NetworkMode: d.networkMode, ContainerDefinitions: []wireContainerDefinition{c},
		RequiresCompatibilities: []string{"EC2"}, Compatibilities: []string{"EC2"},
		PlacementConstraints: []wirePlacementConstraint{}, RegisteredAt: epoch(d.registeredAt),
	}
	if d.cpu > 0 {
		w.CPU = strconv.Itoa(d.cpu)
	}
	if d.memory > 0 {
		w.Memory = strconv.Itoa(d.memory)
	}
	return w
}

// unableToDescribe is ECS's answer for a task definition it does not have.
// OBSERVED (ClientException, this text) in terraform-provider-aws reports
// and in tests written against AWS.
func unableToDescribe() *awswire.Error {
	return awswire.ClientError("ClientException", "Unable to describe task definition.")
}

// describeTaskDefinition follows the botocore ECS model: taskDefinition is
// a family (its latest ACTIVE revision), family:revision, or the full ARN
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html).
// Tags are returned, empty, only when include asks for TAGS.
func (s *Server) describeTaskDefinition(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		TaskDefinition string
		Include        []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref := in.TaskDefinition
	if strings.HasPrefix(ref, "arn:") {
		_, ref, _ = strings.Cut(ref, ":task-definition/")
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	revs := s.taskDefs[family]
	var d *taskDef
	switch n, err := strconv.Atoi(rev); {
	case len(revs) == 0:
	case !hasRev:
		d = revs[len(revs)-1]
	case err == nil && n >= 1 && n <= len(revs):
		d = revs[n-1]
	}
	if d == nil {
		return nil, unableToDescribe()
	}
	out := struct {
		TaskDefinition wireTaskDefinition `json:"taskDefinition"`
		Tags           *[]struct{}        `json:"tags,omitempty"`
	}{TaskDefinition: s.wireTaskDefinition(d)}
	for _, x := range in.Include {
		if x == "TAGS" {
			out.Tags = &[]struct{}{}
		}
	}
	return out, nil
}
