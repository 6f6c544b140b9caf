package ecs

import (
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

type listTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken *string  `json:"nextToken,omitempty"`
}

// listTasks follows the botocore ECS model: desiredStatus defaults to RUNNING, so a
// task told to stop leaves the default listing at once; PENDING "doesn't
// return any results"; stopped tasks stay listable for an hour.
func (s *Server) listTasks(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster           *string
		ContainerInstance *string
		DesiredStatus     string
		Family            *string
		LaunchType        string
		MaxResults        *int32
		NextToken         *string
		ServiceName       *string
		StartedBy         *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	desired := in.DesiredStatus
	switch desired {
	case "":
		desired = taskRunning
	case taskRunning, taskStopped, taskPending:
	default:
		return nil, invalidParameter("desiredStatus must be one of [RUNNING, PENDING, STOPPED].")
	}
	switch in.LaunchType {
	case "", "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES":
	default:
		return nil, invalidParameter("launchType must be one of [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES].")
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
	var svc *service
	if in.ServiceName != nil {
		if svc = c.serviceByName(lastSegment(*in.ServiceName)); svc == nil {
			return nil, awswire.ClientError("ServiceNotFoundException", "Service not found.")
		}
	}

	var found []*task
	for _, k := range c.tasks {
		switch {
		case k.seq <= after, k.desiredStatus != desired:
		case in.LaunchType != "" && in.LaunchType != "EC2": // every task here is EC2
		case svc != nil && k.svc != svc:
		case in.ContainerInstance != nil && k.inst.id != lastSegment(*in.ContainerInstance):
		case in.Family != nil && k.family != *in.Family:
		case in.StartedBy != nil && k.startedBy != *in.StartedBy:
		default:
			found = append(found, k)
		}
	}
	page, next := paginate(found, func(k *task) int { return k.seq }, limit)
	out := listTasksOutput{TaskArns: []string{}, NextToken: next}
	for _, k := range page {
		out.TaskArns = append(out.TaskArns, s.taskARN(c, k.id))
	}
	return out, nil
}

type describeTasksOutput struct {
	Tasks    []wireTask    `json:"tasks"`
	Failures []wireFailure `json:"failures"`
}

// describeTasks follows the botocore ECS model.
func (s *Server) describeTasks(_ time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster *string
		Tasks   []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		// OBSERVED against AWS: the CLI (sil-org/ecs-deploy#63), the
		// JavaScript SDK with HTTP 400 (convox/rack#1908,
		// awslabs/backstage-plugins-for-aws#140).
		return nil, invalidParameter("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParameter("tasks can have at most 100 items.") // UNVERIFIED text
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	out := describeTasksOutput{Tasks: []wireTask{}, Failures: []wireFailure{}}
	for _, ref := range in.Tasks {
		if k := c.taskByID(lastSegment(ref)); k != nil {
			out.Tasks = append(out.Tasks, s.wireTask(k))
		} else {
			out.Failures = append(out.Failures, wireFailure{Arn: s.refARN(ref, s.taskARN(c, ref)), Reason: "MISSING"})
		}
	}
	return out, nil
}

// defaultStopReason is used when StopTask has no reason. UNVERIFIED wording.
const defaultStopReason = "Task stopped by user"

// stopTask follows the botocore ECS model: the task gets desiredStatus STOPPED and
// keeps lastStatus RUNNING until its stop delay passes. Stopping a stopped
// task returns it unchanged (UNVERIFIED, reference's best guess).
func (s *Server) stopTask(now time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster *string
		Task    string
		Reason  *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	k := c.taskByID(lastSegment(in.Task))
	if k == nil {
		return nil, invalidParameter("The referenced task was not found.") // OBSERVED text
	}
	reason := defaultStopReason
	if in.Reason != nil {
		reason = *in.Reason
	}
	s.stop(k, now, "UserInitiated", reason)
	return struct {
		Task wireTask `json:"task"`
	}{s.wireTask(k)}, nil
}

type wireProtectedTask struct {
	TaskArn           string `json:"taskArn"`
	ProtectionEnabled bool   `json:"protectionEnabled"`
	ExpirationDate    epoch  `json:"expirationDate,omitzero"`
}

// getTaskProtection follows the botocore ECS model and
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection.html.
// Only service tasks can be protected; UNVERIFIED: a standalone task is
// reported as a TASK_NOT_VALID failure, as UpdateTaskProtection documents
// for itself.
func (s *Server) getTaskProtection(now time.Time, body []byte) (any, *awswire.Error) {
	var in struct {
		Cluster *string
		Tasks   []string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Cluster == nil || *in.Cluster == "" {
		return nil, invalidParameter("cluster is required.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParameter("tasks can have at most 100 items.") // UNVERIFIED text
	}
	c, err := s.lookupCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	out := struct {
		ProtectedTasks []wireProtectedTask `json:"protectedTasks"`
		Failures       []wireFailure       `json:"failures"`
	}{ProtectedTasks: []wireProtectedTask{}, Failures: []wireFailure{}}
	for _, ref := range in.Tasks {
		k := c.taskByID(lastSegment(ref))
		switch {
		case k == nil:
			out.Failures = append(out.Failures, wireFailure{Arn: s.refARN(ref, s.taskARN(c, ref)), Reason: "MISSING"})
		case k.svc == nil:
			out.Failures = append(out.Failures, wireFailure{Arn: s.taskARN(c, k.id), Reason: "TASK_NOT_VALID", Detail: "The task is not part of a service."})
		default:
			p := wireProtectedTask{TaskArn: s.taskARN(c, k.id)}
			if k.protectedUntil.After(now) {
				p.ProtectionEnabled, p.ExpirationDate = true, epoch(k.protectedUntil)
			}
			out.ProtectedTasks = append(out.ProtectedTasks, p)
		}
	}
	return out, nil
}
