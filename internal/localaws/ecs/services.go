package ecs

import (
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Scheduling strategies (Service.schedulingStrategy in the API model).
const (
	strategyReplica = "REPLICA"
	strategyDaemon  = "DAEMON"
)

// ListServices' page size when maxResults is not given: "If this parameter
// isn't used, then ListServices returns up to 10 results"
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html).
const defaultServicesPage = 10

// maxDescribeServices is how many services DescribeServices takes: "You
// may specify up to 10 services to describe"
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html).
const maxDescribeServices = 10

func (s *Server) serviceARN(v *service) string {
	return s.arn("service/" + v.cluster.name + "/" + v.spec.Name)
}

func (v *service) strategy() string {
	if v.spec.Daemon {
		return strategyDaemon
	}
	return strategyReplica
}

type listServicesOutput struct {
	ServiceArns []string `json:"serviceArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

// listServices follows the botocore ECS model: filters by launch type and
// scheduling strategy, pages of 10 unless maxResults says otherwise.
func (s *Server) listServices(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster            *string
		LaunchType         string
		MaxResults         *int32
		NextToken          *string
		SchedulingStrategy string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch in.SchedulingStrategy {
	case "", strategyReplica, strategyDaemon:
	default:
		return nil, invalidParameter("schedulingStrategy must be one of [REPLICA, DAEMON].") // UNVERIFIED text
	}
	switch in.LaunchType {
	case "", "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES":
	default:
		return nil, invalidParameter("launchType must be one of [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES].")
	}
	limit := defaultServicesPage
	if in.MaxResults != nil {
		var err *awswire.Error
		if limit, err = pageSize(in.MaxResults); err != nil {
			return nil, err
		}
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	// Services are never deleted here, so a page token names a position in
	// creation order, one-based.
	type numbered struct {
		n int
		v *service
	}
	var found []numbered
	for n, v := range c.services {
		switch {
		case n+1 <= after:
		case in.SchedulingStrategy != "" && v.strategy() != in.SchedulingStrategy:
		case in.LaunchType != "" && in.LaunchType != "EC2": // every service here is EC2
		default:
			found = append(found, numbered{n + 1, v})
		}
	}
	page, next := paginate(found, func(x numbered) int { return x.n }, limit)
	out := listServicesOutput{ServiceArns: []string{}, NextToken: next}
	for _, x := range page {
		out.ServiceArns = append(out.ServiceArns, s.serviceARN(x.v))
	}
	return out, nil
}

type wireDeploymentConfiguration struct {
	MaximumPercent        int `json:"maximumPercent"`
	MinimumHealthyPercent int `json:"minimumHealthyPercent"`
}

type wirePlacementConstraint struct {
	Type       string `json:"type"`
	Expression string `json:"expression,omitempty"`
}

type wireService struct {
	ServiceArn              string                      `json:"serviceArn"`
	ServiceName             string                      `json:"serviceName"`
	ClusterArn              string                      `json:"clusterArn"`
	Status                  string                      `json:"status"`
	DesiredCount            int                         `json:"desiredCount"`
	RunningCount            int                         `json:"runningCount"`
	PendingCount            int                         `json:"pendingCount"`
	LaunchType              string                      `json:"launchType"`
	TaskDefinition          string                      `json:"taskDefinition"`
	DeploymentConfiguration wireDeploymentConfiguration `json:"deploymentConfiguration"`
	PlacementConstraints    []wirePlacementConstraint   `json:"placementConstraints"`
	SchedulingStrategy      string                      `json:"schedulingStrategy"`
	CreatedAt               epoch                       `json:"createdAt,omitzero"`
	Deployments             []wireDeployment            `json:"deployments"`
	Events                  []wireServiceEvent          `json:"events"`
}

type wireServiceEvent struct {
	ID        string `json:"id"`
	CreatedAt epoch  `json:"createdAt"`
	Message   string `json:"message"`
}

type wireDeployment struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TaskDefinition     string `json:"taskDefinition"`
	DesiredCount       int    `json:"desiredCount"`
	PendingCount       int    `json:"pendingCount"`
	RunningCount       int    `json:"runningCount"`
	FailedTasks        int    `json:"failedTasks"`
	CreatedAt          epoch  `json:"createdAt,omitzero"`
	UpdatedAt          epoch  `json:"updatedAt,omitzero"`
	LaunchType         string `json:"launchType"`
	RolloutState       string `json:"rolloutState"`
	RolloutStateReason string `json:"rolloutStateReason"`
}

// desiredCount is the service's desired count; a daemon's is the number of
// instances it should run on, the ACTIVE ones its constraints allow
// (UNVERIFIED: whether AWS counts instances whose agent is disconnected;
// here it does).
func (s *Server) desiredCount(v *service) int {
	if !v.spec.Daemon {
		return v.spec.DesiredCount
	}
	n := 0
	for _, i := range v.cluster.instances {
		if i.status == statusActive && v.allows(i, nil) {
			n++
		}
	}
	return n
}

// wireService renders a service as DescribeServices does. runningCount and
// pendingCount count tasks by lastStatus. Its one deployment is the PRIMARY
// one the service was created with (the emulator has no UpdateService):
// IN_PROGRESS until the service first reaches a steady state, then
// COMPLETED ("ECS deployment ecs-svc/... completed.", OBSERVED; the
// in-progress reason's text is UNVERIFIED). Events are the service's log,
// newest first.
func (s *Server) wireService(v *service) wireService {
	w := wireService{
		ServiceArn:     s.serviceARN(v),
		ServiceName:    v.spec.Name,
		ClusterArn:     s.clusterARN(v.cluster),
		Status:         "ACTIVE",
		DesiredCount:   s.desiredCount(v),
		LaunchType:     "EC2",
		TaskDefinition: s.taskDefARN(v.def),
		DeploymentConfiguration: wireDeploymentConfiguration{
			MaximumPercent: v.spec.MaximumPercent, MinimumHealthyPercent: v.spec.MinimumHealthyPercent,
		},
		PlacementConstraints: []wirePlacementConstraint{},
		SchedulingStrategy:   v.strategy(),
		CreatedAt:            epoch(v.createdAt),
		Events:               []wireServiceEvent{},
	}
	for _, pc := range v.spec.PlacementConstraints {
		w.PlacementConstraints = append(w.PlacementConstraints, wirePlacementConstraint(pc))
	}
	for _, k := range v.cluster.tasks {
		if k.svc != v || k.desiredStatus != taskRunning {
			continue
		}
		switch k.lastStatus {
		case taskRunning:
			w.RunningCount++
		case taskPending:
			w.PendingCount++
		}
	}
	d := wireDeployment{
		ID: "ecs-svc/" + v.deploymentID, Status: "PRIMARY", TaskDefinition: w.TaskDefinition,
		DesiredCount: w.DesiredCount, PendingCount: w.PendingCount, RunningCount: w.RunningCount,
		CreatedAt: epoch(v.createdAt), UpdatedAt: epoch(v.createdAt), LaunchType: "EC2",
		RolloutState: "IN_PROGRESS", RolloutStateReason: "ECS deployment ecs-svc/" + v.deploymentID + " in progress.",
	}
	if !v.steadyAt.IsZero() {
		d.UpdatedAt, d.RolloutState = epoch(v.steadyAt), "COMPLETED"
		d.RolloutStateReason = "ECS deployment ecs-svc/" + v.deploymentID + " completed."
	}
	w.Deployments = []wireDeployment{d}
	for n := len(v.events) - 1; n >= 0; n-- {
		e := v.events[n]
		w.Events = append(w.Events, wireServiceEvent{ID: e.ID, CreatedAt: epoch(e.CreatedAt), Message: e.Message})
	}
	return w
}

// describeServices follows the botocore ECS model; a service the cluster does
// not have is a MISSING failure, as a container instance is.
func (s *Server) describeServices(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster  *string
		Services []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, invalidParameter("Services cannot be empty.") // UNVERIFIED text
	}
	if len(in.Services) > maxDescribeServices {
		return nil, invalidParameter("services can have at most %d items.", maxDescribeServices) // UNVERIFIED text
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	out := struct {
		Services []wireService `json:"services"`
		Failures []wireFailure `json:"failures"`
	}{Services: []wireService{}, Failures: []wireFailure{}}
	for _, ref := range in.Services {
		if v := c.serviceByName(lastSegment(ref)); v != nil {
			out.Services = append(out.Services, s.wireService(v))
		} else {
			out.Failures = append(out.Failures, wireFailure{Arn: s.refARN(ref, s.arn("service/"+c.name+"/"+ref)), Reason: "MISSING"})
		}
	}
	return out, nil
}

// ServiceView is a service as tests assert on it.
type ServiceView struct {
	ARN          string
	Strategy     string // REPLICA or DAEMON
	DesiredCount int
	RunningCount int
	PendingCount int
}

// Services returns the cluster's services in creation order.
func (s *Server) Services(clusterName string) []ServiceView {
	var out []ServiceView
	s.do(func(time.Time) {
		c, ok := s.clusters[clusterName]
		if !ok {
			return
		}
		for _, v := range c.services {
			w := s.wireService(v)
			out = append(out, ServiceView{ARN: w.ServiceArn, Strategy: w.SchedulingStrategy, DesiredCount: w.DesiredCount, RunningCount: w.RunningCount, PendingCount: w.PendingCount})
		}
	})
	return out
}

// Attribute targets name container instances by ARN or by short ID; the
// short form needs targetType: "If you specify the target ID using the
// short form, you must also specify the target type"
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteAttributes.html).
func shortTargetWithoutType(a attributeInput) bool {
	return a.TargetType == "" && !strings.HasPrefix(a.TargetID, "arn:")
}

// deleteAttributes removes custom attributes from container instances. The
// call deletes all its attributes or none. Deleting an attribute the
// instance does not have succeeds (UNVERIFIED; the safer reading for a
// caller that retries a delete), and, as for PutAttributes, no event is
// sent.
func (s *Server) deleteAttributes(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster    *string
		Attributes []attributeInput
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Attributes) == 0 {
		return nil, invalidParameter("Attributes cannot be empty.") // UNVERIFIED text
	}
	if len(in.Attributes) > maxAttributesPerCall {
		// "You can specify up to 10 attributes for each request."
		return nil, invalidParameter("Attributes can have at most %d items.", maxAttributesPerCall) // UNVERIFIED text
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	targets := make([]*instance, len(in.Attributes))
	for n, a := range in.Attributes {
		switch {
		case a.TargetType != "" && a.TargetType != "container-instance":
			return nil, invalidParameter("Invalid targetType %s: only container-instance is supported here.", a.TargetType)
		case a.TargetID == "":
			return nil, invalidParameter("targetId is required.") // UNVERIFIED text
		case shortTargetWithoutType(a):
			return nil, invalidParameter("targetType is required when targetId %s is not an ARN.", a.TargetID) // UNVERIFIED text
		case !attributeName.MatchString(a.Name):
			return nil, invalidParameter("Invalid attribute name %q.", a.Name)
		case reserved(a.Name):
			// UNVERIFIED: the API deletes "custom attributes"; what it
			// answers for a built-in one is not documented.
			return nil, invalidParameter("%s is not a custom attribute.", a.Name)
		}
		// UNVERIFIED: that a deregistered (INACTIVE) instance is not found;
		// the safer reading for a caller cleaning up after a terminated
		// instance, which must treat it as nothing left to delete.
		i := c.instanceByID(lastSegment(a.TargetID))
		if i == nil || i.status == statusInactive {
			return nil, awswire.ClientError("TargetNotFoundException", "Could not find %s.", a.TargetID)
		}
		targets[n] = i
	}
	out := []wireAttribute{}
	for n, a := range in.Attributes {
		i := targets[n]
		delete(i.attributes, a.Name)
		s.dirty = true // memberOf constraints read attributes
		out = append(out, wireAttribute{Name: a.Name, Value: deref(a.Value), TargetType: "container-instance", TargetID: s.instanceARN(c, i.id)})
	}
	return struct {
		Attributes []wireAttribute `json:"attributes"`
	}{out}, nil
}
