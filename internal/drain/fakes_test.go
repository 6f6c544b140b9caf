package drain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

// fakeAWS is a hand-written recording fake of the three APIs: it answers
// from a small fixed world and records every request in order.
type fakeAWS struct {
	calls []string // operation names, in order
	sent  []*sqs.SendMessageInput
	done  []*autoscaling.CompleteLifecycleActionInput
	beats []*autoscaling.RecordLifecycleActionHeartbeatInput
	drain []*ecs.UpdateContainerInstancesStateInput
	lists []*ecs.ListContainerInstancesInput
	stops []*ecs.StopTaskInput
	marks []string // chain marks written, in order

	lifecycleState string // of the instance in Auto Scaling; "" = unknown
	hookTimeout    int32  // 0 = no such hook
	ciStatus       string // "" = not registered
	ciRunning      int32  // the instance's runningTasksCount
	// placedBeforeDrain are tasks ECS places on the instance between its
	// describe and UpdateContainerInstancesState.
	placedBeforeDrain []ecstypes.Task
	tasks             []ecstypes.Task
	protected         map[string]time.Time // task ARN -> protection expiry
	chain             string               // the instance's chain mark attribute
	customAttrs       int                  // other custom attributes the instance carries
	agentDisconnected bool
	otherHooks        []string           // the group's other terminate hooks
	warm              []astypes.Instance // the group's warm pool; nil: it has none
	failGroup         string             // a group whose hooks cannot be described
	errs              map[string]error   // operation -> error to return
	sentIDs           int

	// The launch gate's world.
	hookTransition   string   // the drainer's hook's transition; "" = terminating
	statusReason     string   // the container instance's statusReason
	daemons          []string // the cluster's daemon services
	daemonsForbidden bool     // their memberOf constraints exclude the instance
	deletes          []*ecs.DeleteAttributesInput
	launchedAt       time.Time // when the instance's launch activity started; zero: none listed
}

const (
	testInstance = "i-0123456789abcdef0"
	testCI       = "arn:aws:ecs:us-east-1:123456789012:container-instance/c1/0123456789abcdef0123456789abcdef"
)

func (f *fakeAWS) record(op string) error {
	f.calls = append(f.calls, op)
	return f.errs[op]
}

func (f *fakeAWS) DescribeLifecycleHooks(_ context.Context, in *autoscaling.DescribeLifecycleHooksInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error) {
	if err := f.record("DescribeLifecycleHooks"); err != nil {
		return nil, err
	}
	if aws.ToString(in.AutoScalingGroupName) == f.failGroup {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized on " + f.failGroup}
	}
	out := &autoscaling.DescribeLifecycleHooksOutput{}
	name := "hook" // all the group's hooks: the drainer's, as the construct writes it
	if len(in.LifecycleHookNames) > 0 {
		name = in.LifecycleHookNames[0]
	}
	if f.hookTimeout > 0 {
		transition := f.hookTransition
		if transition == "" {
			transition = "autoscaling:EC2_INSTANCE_TERMINATING"
		}
		out.LifecycleHooks = []astypes.LifecycleHook{{LifecycleHookName: aws.String(name), HeartbeatTimeout: aws.Int32(f.hookTimeout), GlobalTimeout: aws.Int32(100 * f.hookTimeout),
			LifecycleTransition: aws.String(transition), NotificationMetadata: aws.String(`{"cluster":"c1"}`)}}
	}
	if len(in.LifecycleHookNames) == 0 {
		for _, h := range f.otherHooks {
			out.LifecycleHooks = append(out.LifecycleHooks, astypes.LifecycleHook{LifecycleHookName: aws.String(h), HeartbeatTimeout: aws.Int32(600),
				LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_TERMINATING"), NotificationMetadata: aws.String("additional-info")})
		}
	}
	return out, nil
}

func (f *fakeAWS) DescribeAutoScalingInstances(_ context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	if err := f.record("DescribeAutoScalingInstances"); err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeAutoScalingInstancesOutput{}
	if f.lifecycleState != "" {
		out.AutoScalingInstances = []astypes.AutoScalingInstanceDetails{{InstanceId: aws.String(in.InstanceIds[0]), AutoScalingGroupName: aws.String("asg"), LifecycleState: aws.String(f.lifecycleState)}}
	}
	return out, nil
}

func (f *fakeAWS) CompleteLifecycleAction(_ context.Context, in *autoscaling.CompleteLifecycleActionInput, _ ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error) {
	if err := f.record("CompleteLifecycleAction"); err != nil {
		return nil, err
	}
	f.done = append(f.done, in)
	return &autoscaling.CompleteLifecycleActionOutput{}, nil
}

func (f *fakeAWS) RecordLifecycleActionHeartbeat(_ context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput, _ ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error) {
	if err := f.record("RecordLifecycleActionHeartbeat"); err != nil {
		return nil, err
	}
	f.beats = append(f.beats, in)
	return &autoscaling.RecordLifecycleActionHeartbeatOutput{}, nil
}

func (f *fakeAWS) ListContainerInstances(_ context.Context, in *ecs.ListContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error) {
	if err := f.record("ListContainerInstances"); err != nil {
		return nil, err
	}
	f.lists = append(f.lists, in)
	out := &ecs.ListContainerInstancesOutput{}
	if f.ciStatus != "" && !(f.daemonsForbidden && strings.Contains(aws.ToString(in.Filter), " and (")) {
		out.ContainerInstanceArns = []string{testCI}
	}
	return out, nil
}

func (f *fakeAWS) DescribeContainerInstances(_ context.Context, in *ecs.DescribeContainerInstancesInput, _ ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error) {
	if err := f.record("DescribeContainerInstances"); err != nil {
		return nil, err
	}
	// runningTasksCount as ECS keeps it: the tasks desired RUNNING.
	running := f.ciRunning
	for _, t := range f.tasks {
		if aws.ToString(t.DesiredStatus) == "RUNNING" {
			running++
		}
	}
	ci := ecstypes.ContainerInstance{ContainerInstanceArn: aws.String(testCI), Ec2InstanceId: aws.String(testInstance), Status: aws.String(f.ciStatus), StatusReason: aws.String(f.statusReason), RunningTasksCount: running,
		AgentConnected: !f.agentDisconnected, Attributes: []ecstypes.Attribute{{Name: aws.String("ecs.os-type"), Value: aws.String("linux")}}}
	if f.chain != "" {
		ci.Attributes = append(ci.Attributes, ecstypes.Attribute{Name: aws.String(ChainAttribute), Value: aws.String(f.chain)})
	}
	for i := range f.customAttrs {
		ci.Attributes = append(ci.Attributes, ecstypes.Attribute{Name: aws.String(fmt.Sprintf("team.attr%d", i)), Value: aws.String("x")})
	}
	return &ecs.DescribeContainerInstancesOutput{ContainerInstances: []ecstypes.ContainerInstance{ci}}, nil
}

func (f *fakeAWS) UpdateContainerInstancesState(_ context.Context, in *ecs.UpdateContainerInstancesStateInput, _ ...func(*ecs.Options)) (*ecs.UpdateContainerInstancesStateOutput, error) {
	if err := f.record("UpdateContainerInstancesState"); err != nil {
		return nil, err
	}
	f.drain = append(f.drain, in)
	f.ciStatus = string(in.Status)
	f.tasks = append(f.tasks, f.placedBeforeDrain...)
	return &ecs.UpdateContainerInstancesStateOutput{}, nil
}

// ListTasks pages two task ARNs at a time, filtering by desired status.
func (f *fakeAWS) ListTasks(_ context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	if err := f.record("ListTasks:" + string(in.DesiredStatus)); err != nil {
		return nil, err
	}
	var arns []string
	for _, t := range f.tasks {
		if aws.ToString(t.DesiredStatus) == string(in.DesiredStatus) {
			arns = append(arns, aws.ToString(t.TaskArn))
		}
	}
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	end := min(start+60, len(arns))
	out := &ecs.ListTasksOutput{TaskArns: arns[start:end]}
	if end < len(arns) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fakeAWS) DescribeTasks(_ context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	if err := f.record("DescribeTasks"); err != nil {
		return nil, err
	}
	if len(in.Tasks) > 100 {
		return nil, fmt.Errorf("DescribeTasks with %d tasks, AWS allows 100", len(in.Tasks))
	}
	out := &ecs.DescribeTasksOutput{}
	for _, arn := range in.Tasks {
		for _, t := range f.tasks {
			if aws.ToString(t.TaskArn) == arn {
				out.Tasks = append(out.Tasks, t)
			}
		}
	}
	return out, nil
}

func (f *fakeAWS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if err := f.record("SendMessage"); err != nil {
		return nil, err
	}
	f.sent = append(f.sent, in)
	f.sentIDs++
	return &sqs.SendMessageOutput{MessageId: aws.String(fmt.Sprintf("m%d", f.sentIDs))}, nil
}

func (f *fakeAWS) GetTaskProtection(_ context.Context, in *ecs.GetTaskProtectionInput, _ ...func(*ecs.Options)) (*ecs.GetTaskProtectionOutput, error) {
	if err := f.record("GetTaskProtection"); err != nil {
		return nil, err
	}
	out := &ecs.GetTaskProtectionOutput{}
	for _, arn := range in.Tasks {
		until, ok := f.protected[arn]
		out.ProtectedTasks = append(out.ProtectedTasks, ecstypes.ProtectedTask{TaskArn: aws.String(arn), ProtectionEnabled: ok, ExpirationDate: aws.Time(until)})
	}
	return out, nil
}

func (f *fakeAWS) StopTask(_ context.Context, in *ecs.StopTaskInput, _ ...func(*ecs.Options)) (*ecs.StopTaskOutput, error) {
	if err := f.record("StopTask"); err != nil {
		return nil, err
	}
	f.stops = append(f.stops, in)
	return &ecs.StopTaskOutput{}, nil
}

func (f *fakeAWS) PutAttributes(_ context.Context, in *ecs.PutAttributesInput, _ ...func(*ecs.Options)) (*ecs.PutAttributesOutput, error) {
	if err := f.record("PutAttributes"); err != nil {
		return nil, err
	}
	f.chain = aws.ToString(in.Attributes[0].Value)
	f.marks = append(f.marks, f.chain)
	return &ecs.PutAttributesOutput{}, nil
}

func (f *fakeAWS) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if err := f.record("DescribeAutoScalingGroups"); err != nil {
		return nil, err
	}
	// "By default, you can only specify up to 50 names. You can optionally
	// increase this limit using the MaxRecords property."
	// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html
	if limit := max(50, int(aws.ToInt32(in.MaxRecords))); len(in.AutoScalingGroupNames) > limit {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf("The number of group names that may be passed in is limited to %d", limit)}
	}
	out := &autoscaling.DescribeAutoScalingGroupsOutput{}
	for _, name := range in.AutoScalingGroupNames {
		g := astypes.AutoScalingGroup{AutoScalingGroupName: aws.String(name)}
		if f.lifecycleState != "" && f.warm == nil {
			g.Instances = []astypes.Instance{{InstanceId: aws.String(testInstance), LifecycleState: astypes.LifecycleState(f.lifecycleState)}}
		}
		if f.warm != nil {
			g.WarmPoolConfiguration = &astypes.WarmPoolConfiguration{PoolState: astypes.WarmPoolStateStopped}
		}
		out.AutoScalingGroups = append(out.AutoScalingGroups, g)
	}
	return out, nil
}

// DescribeWarmPool pages the warm pool one instance at a time.
func (f *fakeAWS) DescribeWarmPool(_ context.Context, in *autoscaling.DescribeWarmPoolInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeWarmPoolOutput, error) {
	if err := f.record("DescribeWarmPool"); err != nil {
		return nil, err
	}
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	out := &autoscaling.DescribeWarmPoolOutput{WarmPoolConfiguration: &astypes.WarmPoolConfiguration{PoolState: astypes.WarmPoolStateStopped}}
	if start < len(f.warm) {
		out.Instances = f.warm[start : start+1]
		if start+1 < len(f.warm) {
			out.NextToken = aws.String(fmt.Sprint(start + 1))
		}
	}
	return out, nil
}

func task(i int, last, desired string) ecstypes.Task {
	return ecstypes.Task{
		TaskArn:    aws.String(fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task/c1/%032x", i)),
		Group:      aws.String("service:web"),
		LastStatus: aws.String(last), DesiredStatus: aws.String(desired),
	}
}

func (f *fakeAWS) DeleteAttributes(_ context.Context, in *ecs.DeleteAttributesInput, _ ...func(*ecs.Options)) (*ecs.DeleteAttributesOutput, error) {
	if err := f.record("DeleteAttributes"); err != nil {
		return nil, err
	}
	f.deletes = append(f.deletes, in)
	f.chain = ""
	return &ecs.DeleteAttributesOutput{}, nil
}

func (f *fakeAWS) ListServices(_ context.Context, in *ecs.ListServicesInput, _ ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	if err := f.record("ListServices"); err != nil {
		return nil, err
	}
	out := &ecs.ListServicesOutput{}
	if in.SchedulingStrategy == ecstypes.SchedulingStrategyDaemon {
		for _, name := range f.daemons {
			out.ServiceArns = append(out.ServiceArns, "arn:aws:ecs:us-east-1:123456789012:service/c1/"+name)
		}
	}
	return out, nil
}

func (f *fakeAWS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if err := f.record("DescribeServices"); err != nil {
		return nil, err
	}
	out := &ecs.DescribeServicesOutput{}
	for _, arn := range in.Services {
		name := arn
		if _, n, ok := strings.Cut(arn, "service/c1/"); ok {
			name = n
		}
		if !slices.Contains(f.daemons, name) {
			// A replica service, as the tasks' group names it.
			out.Services = append(out.Services, ecstypes.Service{ServiceName: aws.String(name), Status: aws.String("ACTIVE"),
				SchedulingStrategy: ecstypes.SchedulingStrategyReplica, TaskDefinition: aws.String(name + ":1"), DesiredCount: 2, RunningCount: 2,
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(200)}})
			continue
		}
		out.Services = append(out.Services, ecstypes.Service{ServiceName: aws.String(name), ServiceArn: aws.String(arn), Status: aws.String("ACTIVE"),
			SchedulingStrategy:   ecstypes.SchedulingStrategyDaemon,
			PlacementConstraints: []ecstypes.PlacementConstraint{{Type: ecstypes.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:role == logs")}}})
	}
	return out, nil
}

func (f *fakeAWS) DescribeScalingActivities(_ context.Context, in *autoscaling.DescribeScalingActivitiesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error) {
	if err := f.record("DescribeScalingActivities"); err != nil {
		return nil, err
	}
	out := &autoscaling.DescribeScalingActivitiesOutput{}
	if !f.launchedAt.IsZero() {
		out.Activities = []astypes.Activity{
			{Description: aws.String("Terminating EC2 instance: i-0aaaaaaaaaaaaaaaa"), StartTime: aws.Time(f.launchedAt.Add(time.Minute))},
			{Description: aws.String("Launching a new EC2 instance: " + testInstance), StartTime: aws.Time(f.launchedAt)},
		}
	}
	return out, nil
}

func (f *fakeAWS) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if err := f.record("DescribeTaskDefinition"); err != nil {
		return nil, err
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{TaskDefinitionArn: in.TaskDefinition,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Cpu: 256, Memory: aws.Int32(512),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(80)}}}}}}, nil
}
