package ecs

import (
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// listableStatuses are the values ListContainerInstances accepts for status;
// INACTIVE is not one of them (the botocore ECS model).
var listableStatuses = []string{statusActive, statusDraining, statusRegistering, statusDeregistering, statusRegistrationFailed}

type listContainerInstancesOutput struct {
	ContainerInstanceArns []string `json:"containerInstanceArns"`
	NextToken             *string  `json:"nextToken,omitempty"`
}

// listContainerInstances follows the botocore ECS model: without status every
// instance but INACTIVE ones is listed, and an instance the filter does not
// match gives an empty list, not an error.
func (s *Server) listContainerInstances(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster    *string
		Filter     *string
		MaxResults *int32
		NextToken  *string
		Status     string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	statusOK := func(st string) bool { return st != statusInactive }
	if in.Status != "" {
		if !slices.Contains(listableStatuses, in.Status) {
			return nil, invalidParameter("status must be one of [%s].", strings.Join(listableStatuses, ", "))
		}
		statusOK = func(st string) bool { return st == in.Status }
	}
	match := func(filterTarget) bool { return true }
	// Attributes and task groups are gathered only for a filter that reads
	// them: the drainer's ec2InstanceId lookups are most of the calls.
	detail := false
	if in.Filter != nil && strings.TrimSpace(*in.Filter) != "" {
		detail = strings.Contains(*in.Filter, "attribute:") || strings.Contains(*in.Filter, "task:group")
		pred, err := parseFilter(*in.Filter)
		if err != nil {
			// UNVERIFIED: the code (a guess; no source states it) and the text.
			return nil, invalidParameter("Invalid filter expression %q: %v.", *in.Filter, err)
		}
		match = pred
	}
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}

	var found []*instance
	for _, i := range c.instances {
		if i.seq > after && statusOK(i.status) && match(i.filterTarget(detail)) {
			found = append(found, i)
		}
	}
	page, next := paginate(found, func(i *instance) int { return i.seq }, limit)
	out := listContainerInstancesOutput{ContainerInstanceArns: []string{}, NextToken: next}
	for _, i := range page {
		out.ContainerInstanceArns = append(out.ContainerInstanceArns, s.instanceARN(c, i.id))
	}
	return out, nil
}

// filterTarget is what a cluster query sees of i; its attributes and task
// groups only with detail.
func (i *instance) filterTarget(detail bool) filterTarget {
	running, _ := i.counts()
	t := filterTarget{ec2InstanceID: i.ec2ID, runningTasks: running, agentConnected: i.agentConnected}
	if !detail {
		return t
	}
	t.attributes = map[string]string{}
	for _, a := range i.wireAttributes() {
		t.attributes[a.Name] = a.Value
	}
	for _, k := range i.tasks {
		if k.holding() && !slices.Contains(t.groups, k.group()) {
			t.groups = append(t.groups, k.group())
		}
	}
	return t
}

// emptyInstancesMessage is what ECS answers, as InvalidParameterException,
// to DescribeContainerInstances with an empty containerInstances list.
// OBSERVED against AWS from three SDKs: boto3 (getmoto/moto#2473), the Java
// SDK v2 (gchq/sleeper#3387) and the Ruby SDK (eagletmt/hako#34).
const emptyInstancesMessage = "Container instance cannot be empty."

type containerInstancesOutput struct {
	ContainerInstances []wireContainerInstance `json:"containerInstances"`
	Failures           []wireFailure           `json:"failures"`
}

// describeContainerInstances follows the botocore ECS model; deregistered (INACTIVE)
// instances stay describable.
func (s *Server) describeContainerInstances(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster            *string
		ContainerInstances []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.ContainerInstances) == 0 {
		// The SDK refuses only a nil list before sending; an empty one
		// reaches ECS. Code and text as AWS answers them (see
		// emptyInstancesMessage).
		return nil, invalidParameter(emptyInstancesMessage)
	}
	if len(in.ContainerInstances) > 100 {
		// UNVERIFIED text, modelled on the observed UpdateContainerInstancesState one.
		return nil, invalidParameter("containerInstances can have at most 100 items.")
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	out := containerInstancesOutput{ContainerInstances: []wireContainerInstance{}, Failures: []wireFailure{}}
	for _, ref := range in.ContainerInstances {
		if i := c.instanceByID(lastSegment(ref)); i != nil {
			out.ContainerInstances = append(out.ContainerInstances, s.wireInstance(i))
		} else {
			out.Failures = append(out.Failures, wireFailure{Arn: s.refARN(ref, s.instanceARN(c, ref)), Reason: "MISSING"})
		}
	}
	return out, nil
}

// updateContainerInstancesState follows the botocore ECS model and
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-draining.html.
func (s *Server) updateContainerInstancesState(now time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster            *string
		ContainerInstances []string
		Status             string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.ContainerInstances) > 10 {
		return nil, invalidParameter("instanceIds can have at most 10 items.") // OBSERVED text
	}
	if len(in.ContainerInstances) == 0 {
		// UNVERIFIED: no answer to an empty list was found published for
		// this operation; the code and text are DescribeContainerInstances'
		// for the same member.
		return nil, invalidParameter(emptyInstancesMessage)
	}
	if in.Status != statusActive && in.Status != statusDraining {
		return nil, invalidParameter("Container instance status should be one of [ACTIVE, DRAINING]")
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	out := containerInstancesOutput{ContainerInstances: []wireContainerInstance{}, Failures: []wireFailure{}}
	for _, ref := range in.ContainerInstances {
		i := c.instanceByID(lastSegment(ref))
		switch {
		case i == nil:
			out.Failures = append(out.Failures, wireFailure{Arn: s.refARN(ref, s.instanceARN(c, ref)), Reason: "MISSING"})
		case i.status != statusActive && i.status != statusDraining:
			// The doc says only that "an error will be received" for an instance
			// that is not ACTIVE. UNVERIFIED: we report it per instance in
			// failures, with the blocking status as the reason, because the
			// call carries up to 10 instances and the others still succeed.
			out.Failures = append(out.Failures, wireFailure{
				Arn:    s.instanceARN(c, i.id),
				Reason: i.status,
				Detail: "Container instance status must be ACTIVE or DRAINING to change it.",
			})
		default:
			// DRAINING on a DRAINING instance is an idempotent success (moto;
			// undocumented; getmoto/moto#831).
			if i.status != in.Status {
				i.status = in.Status
				i.statusReason = ""
				s.instanceChanged(i, now)
			}
			out.ContainerInstances = append(out.ContainerInstances, s.wireInstance(i))
		}
	}
	return out, nil
}

// refARN returns ref itself when it is an ARN, else the ARN built for it: a
// MISSING failure names the resource asked about. UNVERIFIED: whether AWS
// puts the cluster segment in a short id's failure ARN.
func (s *Server) refARN(ref, built string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return built
}
