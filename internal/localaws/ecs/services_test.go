package ecs

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// A daemon service must place its task on each new instance as soon as the
// instance is ACTIVE with its agent connected, and only where its memberOf
// constraint allows, the task PENDING for its start time before RUNNING; a
// launch gate that waits for "the daemon RUNNING on the new instance" reads
// that through ListServices (DAEMON), DescribeServices (constraints),
// ListContainerInstances (the constraint narrowed to the instance), ListTasks
// (containerInstance, desiredStatus) and DescribeTasks (group, lastStatus).
// Without it a gate for containers-roadmap#428 would either never open or
// open on an instance the daemon does not belong to. The scheduler also stops
// a daemon task whose instance no longer meets the constraints.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service-options.html (DAEMON),
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html (memberOf),
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html.
func TestDaemonPlacesATaskOnEachNewInstanceItsConstraintsAllow(t *testing.T) {
	const expr = "attribute:role == web"
	f := newFixture(t, Options{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 128, Memory: 128})
	f.createService(ServiceSpec{
		Name: "log-agent", Daemon: true, CPU: 64, Memory: 64, StartDelay: 10 * time.Second,
		PlacementConstraints: []PlacementConstraint{{Type: ConstraintMemberOf, Expression: expr}},
	})
	f.startAgent("i-batch", Agent{Attributes: map[string]string{"role": "batch"}})
	f.startAgent("i-web", Agent{Attributes: map[string]string{"role": "web"}, RegisterAfter: 30 * time.Second, ConnectAfter: 5 * time.Second})

	daemonTasks := func(ec2ID string) []string {
		t.Helper()
		arns := f.listTasks(ecssdk.ListTasksInput{ContainerInstance: aws.String(f.instance(ec2ID).ARN), DesiredStatus: types.DesiredStatusRunning})
		var out []string
		for _, arn := range arns {
			if k := f.describeTask(arn); aws.ToString(k.Group) == "service:log-agent" {
				out = append(out, aws.ToString(k.LastStatus))
			}
		}
		return out
	}

	f.advance(30 * time.Second)
	if got := daemonTasks("i-web"); len(got) != 0 {
		t.Errorf("registered but not connected: daemon tasks %v, want none", got)
	}
	f.advance(5 * time.Second)
	if got := daemonTasks("i-web"); !cmp.Equal(got, []string{"PENDING"}) {
		t.Errorf("just connected: daemon tasks %v, want [PENDING]", got)
	}
	f.advance(10 * time.Second)
	if got := daemonTasks("i-web"); !cmp.Equal(got, []string{"RUNNING"}) {
		t.Errorf("after the start time: daemon tasks %v, want [RUNNING]", got)
	}
	if got := daemonTasks("i-batch"); len(got) != 0 {
		t.Errorf("on the instance memberOf excludes: daemon tasks %v, want none", got)
	}

	daemons, err := f.api.ListServices(f.ctx, &ecssdk.ListServicesInput{Cluster: aws.String(clusterName), SchedulingStrategy: types.SchedulingStrategyDaemon})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:ecs:us-east-1:123456789012:service/" + clusterName + "/log-agent"
	if !cmp.Equal(daemons.ServiceArns, []string{wantARN}) {
		t.Errorf("ListServices(DAEMON): got %v, want [%s]", daemons.ServiceArns, wantARN)
	}
	desc, err := f.api.DescribeServices(f.ctx, &ecssdk.DescribeServicesInput{Cluster: aws.String(clusterName), Services: daemons.ServiceArns})
	if err != nil || len(desc.Services) != 1 {
		t.Fatalf("DescribeServices: err %v, services %d", err, len(desc.Services))
	}
	want := types.Service{
		ServiceArn:              aws.String(wantARN),
		ServiceName:             aws.String("log-agent"),
		ClusterArn:              aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/" + clusterName),
		Status:                  aws.String("ACTIVE"),
		DesiredCount:            1,
		RunningCount:            1,
		LaunchType:              types.LaunchTypeEc2,
		TaskDefinition:          aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/log-agent:1"),
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(100), MinimumHealthyPercent: aws.Int32(0)},
		PlacementConstraints:    []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String(expr)}},
		SchedulingStrategy:      types.SchedulingStrategyDaemon,
		CreatedAt:               aws.Time(start),
	}
	// Events and deployments have their own tests (serviceevents_test.go).
	if diff := cmp.Diff(want, desc.Services[0], cmpopts.IgnoreUnexported(types.Service{}, types.DeploymentConfiguration{}, types.PlacementConstraint{}),
		cmpopts.IgnoreFields(types.Service{}, "Events", "Deployments")); diff != "" {
		t.Errorf("DescribeServices (-want +got):\n%s", diff)
	}

	for ec2ID, wantFound := range map[string]bool{"i-web": true, "i-batch": false} {
		filter := "(" + expr + ") and ec2InstanceId == " + ec2ID
		out, err := f.api.ListContainerInstances(f.ctx, &ecssdk.ListContainerInstancesInput{Cluster: aws.String(clusterName), Filter: aws.String(filter)})
		if err != nil || (len(out.ContainerInstanceArns) == 1) != wantFound {
			t.Errorf("ListContainerInstances(%q): got %v, err %v; want found %v", filter, out.ContainerInstanceArns, err, wantFound)
		}
	}

	if _, err := f.api.DeleteAttributes(f.ctx, &ecssdk.DeleteAttributesInput{Cluster: aws.String(clusterName), Attributes: []types.Attribute{
		{Name: aws.String("role"), TargetId: aws.String(f.instance("i-web").ARN)},
	}}); err != nil {
		t.Fatal(err)
	}
	got := f.tasksOn("i-web", "service:log-agent")
	if len(got) != 1 || got[0].DesiredStatus != "STOPPED" {
		t.Errorf("after the instance stopped meeting memberOf: daemon tasks %v, want one told to stop", statuses(got))
	}
}

// ListServices must page as documented (10 by default) and filter by
// scheduling strategy and launch type, or a gate listing the cluster's
// daemons would miss those past the first page.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html
func TestListServicesPagesAndFilters(t *testing.T) {
	f := newFixture(t, Options{})
	for n := range 12 {
		f.createService(ServiceSpec{Name: fmt.Sprintf("svc-%02d", n), DesiredCount: 0, CPU: 1, Memory: 1})
	}
	f.createService(ServiceSpec{Name: "daemon", Daemon: true, CPU: 1, Memory: 1})

	list := func(in ecssdk.ListServicesInput) (*ecssdk.ListServicesOutput, error) {
		if in.Cluster == nil {
			in.Cluster = aws.String(clusterName)
		}
		return f.api.ListServices(f.ctx, &in)
	}
	first, err := list(ecssdk.ListServicesInput{})
	if err != nil || len(first.ServiceArns) != 10 || first.NextToken == nil {
		t.Fatalf("first page without maxResults: got %d services, nextToken %v, err %v; want 10 and a token", len(first.ServiceArns), first.NextToken, err)
	}
	second, err := list(ecssdk.ListServicesInput{NextToken: first.NextToken})
	if err != nil || len(second.ServiceArns) != 3 || second.NextToken != nil {
		t.Fatalf("second page: got %d services, nextToken %v, err %v; want the last 3 and no token", len(second.ServiceArns), second.NextToken, err)
	}
	var all []string
	p := ecssdk.NewListServicesPaginator(f.api, &ecssdk.ListServicesInput{Cluster: aws.String(clusterName), MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		out, err := p.NextPage(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.ServiceArns...)
	}
	if len(all) != 13 {
		t.Errorf("paginator with maxResults 5: got %d services, want 13", len(all))
	}
	for _, tc := range []struct {
		name string
		in   ecssdk.ListServicesInput
		want int
	}{
		{"REPLICA", ecssdk.ListServicesInput{SchedulingStrategy: types.SchedulingStrategyReplica, MaxResults: aws.Int32(100)}, 12},
		{"DAEMON", ecssdk.ListServicesInput{SchedulingStrategy: types.SchedulingStrategyDaemon}, 1},
		{"FARGATE finds none of these EC2 services", ecssdk.ListServicesInput{LaunchType: types.LaunchTypeFargate}, 0},
	} {
		out, err := list(tc.in)
		if err != nil || len(out.ServiceArns) != tc.want {
			t.Errorf("%s: got %d services, err %v; want %d", tc.name, len(out.ServiceArns), err, tc.want)
		}
	}
	for _, tc := range []struct {
		name    string
		in      ecssdk.ListServicesInput
		wantErr func(error) bool
	}{
		{"an unknown strategy", ecssdk.ListServicesInput{SchedulingStrategy: "BOTH"}, isInvalidParameter},
		{"maxResults 101", ecssdk.ListServicesInput{MaxResults: aws.Int32(101)}, isInvalidParameter},
		{"an unknown cluster", ecssdk.ListServicesInput{Cluster: aws.String("nope")}, isClusterNotFound},
	} {
		if _, err := list(tc.in); !tc.wantErr(err) {
			t.Errorf("%s: got %v, want the typed error", tc.name, err)
		}
	}
}

// DescribeServices answers a service the cluster lacks with a MISSING
// failure, not an error, and refuses an empty list or more than 10.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html
func TestDescribeServicesReportsMissingOnes(t *testing.T) {
	f := newFixture(t, Options{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 0, CPU: 1, Memory: 1})
	out, err := f.api.DescribeServices(f.ctx, &ecssdk.DescribeServicesInput{Cluster: aws.String(clusterName), Services: []string{"web", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 || out.Services[0].SchedulingStrategy != types.SchedulingStrategyReplica ||
		aws.ToInt32(out.Services[0].DeploymentConfiguration.MinimumHealthyPercent) != 100 || aws.ToInt32(out.Services[0].DeploymentConfiguration.MaximumPercent) != 200 {
		t.Errorf("services: got %+v, want web, REPLICA, 100/200", out.Services)
	}
	wantFailure := []types.Failure{{Arn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/" + clusterName + "/gone"), Reason: aws.String("MISSING")}}
	if diff := cmp.Diff(wantFailure, out.Failures, cmpopts.IgnoreUnexported(types.Failure{})); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	eleven := make([]string, 11)
	for n := range eleven {
		eleven[n] = "web"
	}
	for name, services := range map[string][]string{"an empty list": {}, "11 services": eleven} {
		if _, err := f.api.DescribeServices(f.ctx, &ecssdk.DescribeServicesInput{Cluster: aws.String(clusterName), Services: services}); !isInvalidParameter(err) {
			t.Errorf("%s: got %v, want InvalidParameterException", name, err)
		}
	}
}

// DeleteAttributes must remove a custom attribute as documented, all of a
// call's or none, and fail with the documented errors, or the function,
// which deletes its own mark, could not tell "gone" from "refused".
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteAttributes.html
func TestDeleteAttributes(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.register("i-2", Resources{})
	arn := f.instance("i-1").ARN
	shortID := arn[len(arn)-32:]
	attr := func(name, target, targetType string) types.Attribute {
		a := types.Attribute{Name: aws.String(name), TargetId: aws.String(target)}
		if targetType != "" {
			a.TargetType = types.TargetType(targetType)
		}
		return a
	}
	custom := func(ec2ID string) map[string]string {
		out := map[string]string{}
		for _, a := range f.describe(ec2ID).Attributes {
			if name := aws.ToString(a.Name); !reserved(name) {
				out[name] = aws.ToString(a.Value)
			}
		}
		return out
	}
	reset := func() {
		for _, id := range []string{"i-1", "i-2"} {
			if err := f.srv.SetAttributes(id, map[string]string{"mark": "x", "keep": "y"}); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, tc := range []struct {
		name    string
		cluster string
		attrs   []types.Attribute
		wantErr func(error) bool
		want    map[string]string // i-1's custom attributes afterwards
	}{
		{"by ARN", clusterName, []types.Attribute{attr("mark", arn, "")}, nil, map[string]string{"keep": "y"}},
		{"by short ID with its target type", clusterName, []types.Attribute{attr("mark", shortID, "container-instance")}, nil, map[string]string{"keep": "y"}},
		{"an attribute the instance lacks", clusterName, []types.Attribute{attr("never-set", arn, "")}, nil, map[string]string{"mark": "x", "keep": "y"}},
		{"a short ID without its target type", clusterName, []types.Attribute{attr("mark", shortID, "")}, isInvalidParameter, nil},
		{"a built-in attribute", clusterName, []types.Attribute{attr("ecs.os-type", arn, "")}, isInvalidParameter, nil},
		{"an unknown target, the other deletion not applied", clusterName, []types.Attribute{attr("mark", arn, ""), attr("mark", "arn:aws:ecs:us-east-1:123456789012:container-instance/"+clusterName+"/0123", "")}, isTargetNotFound, nil},
		{"an unknown cluster", "nope", []types.Attribute{attr("mark", arn, "")}, isClusterNotFound, nil},
		{"11 attributes", clusterName, func() []types.Attribute {
			var out []types.Attribute
			for n := range 11 {
				out = append(out, attr(fmt.Sprintf("a%d", n), arn, ""))
			}
			return out
		}(), isInvalidParameter, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset()
			out, err := f.api.DeleteAttributes(f.ctx, &ecssdk.DeleteAttributesInput{Cluster: aws.String(tc.cluster), Attributes: tc.attrs})
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Fatalf("got %v, want the typed error", err)
				}
				if got := custom("i-1"); !cmp.Equal(got, map[string]string{"mark": "x", "keep": "y"}) {
					t.Errorf("after a refused call: i-1's attributes %v, want them untouched", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Attributes) != len(tc.attrs) || aws.ToString(out.Attributes[0].TargetId) != arn || out.Attributes[0].TargetType != types.TargetTypeContainerInstance {
				t.Errorf("answer: got %+v, want each attribute with the instance's ARN and type", out.Attributes)
			}
			if got := custom("i-1"); !cmp.Equal(got, tc.want) {
				t.Errorf("i-1's custom attributes: got %v, want %v", got, tc.want)
			}
			if got := custom("i-2"); !cmp.Equal(got, map[string]string{"mark": "x", "keep": "y"}) {
				t.Errorf("i-2's custom attributes: got %v, want them untouched", got)
			}
		})
	}
}

func isTargetNotFound(err error) bool {
	var e *types.TargetNotFoundException
	return errors.As(err, &e)
}
