package ecs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The drainer finds its container instance with a cluster query filter; the
// emulator must evaluate that filter, or the drainer would drain the wrong
// instance or none. See https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-query-language.html.
func TestListContainerInstancesFilter(t *testing.T) {
	f := newFixture(t, Options{})
	ec2ByARN := map[string]string{}
	for _, id := range []string{"i-1", "i-2", "i-3"} {
		ec2ByARN[f.register(id, Resources{})] = id
	}
	f.runTask("i-2", TaskSpec{Family: "batch"})
	if err := f.srv.DisconnectAgent("i-3"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		filter string
		want   []string
	}{
		{"ec2InstanceId == finds the one instance", "ec2InstanceId == i-2", []string{"i-2"}},
		{"an instance not in the cluster gives an empty list", "ec2InstanceId == i-0123456789abcdef0", nil},
		{"in takes a quoted list", `ec2InstanceId in ['i-1', "i-3"]`, []string{"i-1", "i-3"}},
		{"in takes a bare list", "ec2InstanceId in [i-2,i-3]", []string{"i-2", "i-3"}},
		{"not_in excludes the list", "ec2InstanceId not_in [i-2]", []string{"i-1", "i-3"}},
		{"runningTasksCount compares numbers", "runningTasksCount > 0", []string{"i-2"}},
		{"agentConnected selects disconnected agents", "agentConnected == false", []string{"i-3"}},
		{"and combines conditions", "runningTasksCount == 0 and agentConnected == true", []string{"i-1"}},
		{"&& combines conditions", "runningTasksCount == 0 && ec2InstanceId != i-1", []string{"i-3"}},
		{"matches is a whole-string regular expression", "ec2InstanceId =~ 'i-[12]'", []string{"i-1", "i-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.api.ListContainerInstances(f.ctx, &ecssdk.ListContainerInstancesInput{
				Cluster: aws.String(clusterName), Filter: aws.String(tt.filter),
			})
			if err != nil {
				t.Fatalf("ListContainerInstances(filter %q): %v", tt.filter, err)
			}
			var got []string
			for _, arn := range out.ContainerInstanceArns {
				got = append(got, ec2ByARN[arn])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("filter %q (-want +got):\n%s", tt.filter, diff)
			}
			if out.NextToken != nil {
				t.Errorf("filter %q: nextToken = %q on the only page, want none", tt.filter, *out.NextToken)
			}
		})
	}
}

// Bad input must fail the way ECS fails, with a typed error the drainer can
// classify, not with an empty success it would read as "nothing to drain".
// Error envelope as smithy-go's awsjson decoder reads it; limits from the
// botocore ECS model.
func TestListContainerInstancesRejectsBadInput(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})

	tests := []struct {
		name    string
		in      ecssdk.ListContainerInstancesInput
		wantErr func(error) bool
	}{
		{"an unknown cluster is ClusterNotFoundException", ecssdk.ListContainerInstancesInput{Cluster: aws.String("nope")}, isClusterNotFound},
		{"an unknown cluster ARN is ClusterNotFoundException", ecssdk.ListContainerInstancesInput{Cluster: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/nope")}, isClusterNotFound},
		{"a filter without an argument is invalid", ecssdk.ListContainerInstancesInput{Filter: aws.String("ec2InstanceId ==")}, isInvalidParameter},
		{"an unclosed list is invalid", ecssdk.ListContainerInstancesInput{Filter: aws.String("ec2InstanceId in [i-1,")}, isInvalidParameter},
		{"an unsupported subject is invalid", ecssdk.ListContainerInstancesInput{Filter: aws.String("agentVersion < 1.14.5")}, isInvalidParameter},
		{"status INACTIVE is not a valid filter", ecssdk.ListContainerInstancesInput{Status: "INACTIVE"}, isInvalidParameter},
		{"an unknown status is invalid", ecssdk.ListContainerInstancesInput{Status: "STOPPED"}, isInvalidParameter},
		{"maxResults 0 is out of range", ecssdk.ListContainerInstancesInput{MaxResults: aws.Int32(0)}, isInvalidParameter},
		{"maxResults 101 is out of range", ecssdk.ListContainerInstancesInput{MaxResults: aws.Int32(101)}, isInvalidParameter},
		{"a forged nextToken is invalid", ecssdk.ListContainerInstancesInput{NextToken: aws.String("not-a-token")}, isInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.Cluster == nil {
				in.Cluster = aws.String(clusterName)
			}
			_, err := f.api.ListContainerInstances(f.ctx, &in)
			if !tt.wantErr(err) {
				t.Errorf("ListContainerInstances(%+v): got error %v, want the typed error", in, err)
			}
		})
	}
	t.Run("the cluster message is AWS's", func(t *testing.T) {
		_, err := f.api.ListContainerInstances(f.ctx, &ecssdk.ListContainerInstancesInput{Cluster: aws.String("nope")})
		if err == nil || !strings.Contains(err.Error(), "ClusterNotFoundException: Cluster not found.") {
			t.Errorf("got %v, want ClusterNotFoundException: Cluster not found.", err)
		}
	})
}

// Paging must end with no nextToken, or the SDK paginator loops or stops
// early (aws-sdk-go-v2 service/ecs paginators).
func TestListContainerInstancesPaginates(t *testing.T) {
	f := newFixture(t, Options{})
	var want []string
	for n := range 5 {
		want = append(want, f.register(fmt.Sprintf("i-%d", n), Resources{}))
	}
	p := ecssdk.NewListContainerInstancesPaginator(f.api, &ecssdk.ListContainerInstancesInput{
		Cluster: aws.String(clusterName), MaxResults: aws.Int32(2),
	})
	var got []string
	var sizes []int
	for p.HasMorePages() {
		page, err := p.NextPage(f.ctx)
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		got = append(got, page.ContainerInstanceArns...)
		sizes = append(sizes, len(page.ContainerInstanceArns))
	}
	if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances across pages (-want +got):\n%s", diff)
	}
}

// A terminated instance is deregistered: the drainer's filter then finds
// nothing (it must complete the hook), yet the instance stays describable as
// INACTIVE (ListContainerInstances and DescribeContainerInstances in the
// botocore ECS model).
func TestDeregisteredInstanceLeavesListButStaysDescribable(t *testing.T) {
	f := newFixture(t, Options{})
	arn := f.register("i-gone", Resources{})
	f.register("i-draining", Resources{})
	task := f.runTask("i-gone", TaskSpec{Family: "batch", StopDelay: time.Minute})
	f.drain("i-draining")
	f.srv.DeregisterEC2Instance("i-gone")

	list := func(in ecssdk.ListContainerInstancesInput) int {
		in.Cluster = aws.String(clusterName)
		out, err := f.api.ListContainerInstances(f.ctx, &in)
		if err != nil {
			t.Fatalf("ListContainerInstances(%+v): %v", in, err)
		}
		return len(out.ContainerInstanceArns)
	}
	if got := list(ecssdk.ListContainerInstancesInput{Filter: aws.String("ec2InstanceId == i-gone")}); got != 0 {
		t.Errorf("filter on the deregistered instance: got %d instances, want 0", got)
	}
	if got := list(ecssdk.ListContainerInstancesInput{}); got != 1 {
		t.Errorf("default listing: got %d instances, want 1 (the DRAINING one; INACTIVE is excluded)", got)
	}
	if got := list(ecssdk.ListContainerInstancesInput{Status: types.ContainerInstanceStatusDraining}); got != 1 {
		t.Errorf("status DRAINING: got %d instances, want 1", got)
	}

	out, err := f.api.DescribeContainerInstances(f.ctx, &ecssdk.DescribeContainerInstancesInput{
		Cluster: aws.String(clusterName), ContainerInstances: []string{arn},
	})
	if err != nil || len(out.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances(%s): err %v, %d instances", arn, err, len(out.ContainerInstances))
	}
	ci := out.ContainerInstances[0]
	if got := aws.ToString(ci.Status); got != "INACTIVE" || ci.AgentConnected || ci.RunningTasksCount != 0 {
		t.Errorf("deregistered instance: got status %s, agentConnected %v, running %d; want INACTIVE, false, 0", got, ci.AgentConnected, ci.RunningTasksCount)
	}
	// The host is gone, so its tasks are STOPPED at once, whatever their stop delay.
	if got := f.describeTask(task); aws.ToString(got.LastStatus) != "STOPPED" {
		t.Errorf("task on the terminated host: got lastStatus %s, want STOPPED", aws.ToString(got.LastStatus))
	}
}

// DescribeContainerInstances is where the drainer reads the counts and
// status; the fields must decode in the SDK types (the botocore ECS model).
func TestDescribeContainerInstances(t *testing.T) {
	f := newFixture(t, Options{})
	arn := f.register("i-1", Resources{CPU: 1024, Memory: 2048})
	f.runTask("i-1", TaskSpec{Family: "batch", CPU: 256, Memory: 512, HostPort: 8080})
	id := arn[strings.LastIndex(arn, "/")+1:]

	out, err := f.api.DescribeContainerInstances(f.ctx, &ecssdk.DescribeContainerInstancesInput{
		Cluster:            aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/" + clusterName),
		ContainerInstances: []string{id, "0123456789abcdef0123456789abcdef"},
	})
	if err != nil {
		t.Fatalf("DescribeContainerInstances: %v", err)
	}
	want := []types.ContainerInstance{{
		ContainerInstanceArn: aws.String(arn),
		Ec2InstanceId:        aws.String("i-1"),
		Status:               aws.String("ACTIVE"),
		AgentConnected:       true,
		RunningTasksCount:    1,
		PendingTasksCount:    0,
		RegisteredAt:         aws.Time(start),
		RegisteredResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678", "51679"}},
		},
		RemainingResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 768},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1536},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678", "51679", "8080"}},
		},
	}}
	opts := cmp.Options{
		cmpopts.IgnoreUnexported(types.ContainerInstance{}, types.Resource{}),
		cmpopts.IgnoreFields(types.ContainerInstance{}, "Version", "VersionInfo", "Attributes"),
		cmpopts.EquateApproxTime(time.Millisecond),
	}
	if diff := cmp.Diff(want, out.ContainerInstances, opts); diff != "" {
		t.Errorf("container instances (-want +got):\n%s", diff)
	}
	wantFailures := []types.Failure{{
		Arn:    aws.String("arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef"),
		Reason: aws.String("MISSING"),
	}}
	if diff := cmp.Diff(wantFailures, out.Failures, cmpopts.IgnoreUnexported(types.Failure{})); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	t.Run("more than 100 ids is InvalidParameterException", func(t *testing.T) {
		_, err := f.api.DescribeContainerInstances(f.ctx, &ecssdk.DescribeContainerInstancesInput{
			Cluster: aws.String(clusterName), ContainerInstances: make([]string, 101),
		})
		if !isInvalidParameter(err) {
			t.Errorf("101 ids: got %v, want InvalidParameterException", err)
		}
	})
}

// UpdateContainerInstancesState is the drainer's one write to ECS; its limits
// and per-instance failures must match AWS's (the botocore ECS model: up to
// 10 instances per call).
func TestUpdateContainerInstancesState(t *testing.T) {
	f := newFixture(t, Options{})
	active := f.register("i-active", Resources{})
	registering := f.register("i-registering", Resources{})
	if err := f.srv.SetInstanceStatus("i-registering", "REGISTERING"); err != nil {
		t.Fatal(err)
	}
	gone := f.register("i-gone", Resources{})
	f.srv.DeregisterEC2Instance("i-gone")
	unknown := "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/ffffffffffffffffffffffffffffffff"

	update := func(status types.ContainerInstanceStatus, ids ...string) (*ecssdk.UpdateContainerInstancesStateOutput, error) {
		return f.api.UpdateContainerInstancesState(f.ctx, &ecssdk.UpdateContainerInstancesStateInput{
			Cluster: aws.String(clusterName), ContainerInstances: ids, Status: status,
		})
	}

	t.Run("11 ids fail with AWS's exact message", func(t *testing.T) {
		_, err := update("DRAINING", make([]string, 11)...)
		if !isInvalidParameter(err) || !strings.Contains(err.Error(), "InvalidParameterException: instanceIds can have at most 10 items.") {
			t.Errorf("11 ids: got %v, want InvalidParameterException: instanceIds can have at most 10 items.", err)
		}
	})
	t.Run("only ACTIVE and DRAINING can be set", func(t *testing.T) {
		if _, err := update("INACTIVE", active); !isInvalidParameter(err) {
			t.Errorf("status INACTIVE: got %v, want InvalidParameterException", err)
		}
	})
	t.Run("DRAINING twice succeeds both times", func(t *testing.T) {
		for attempt := 1; attempt <= 2; attempt++ {
			out, err := update("DRAINING", active)
			if err != nil || len(out.Failures) != 0 || len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].Status) != "DRAINING" {
				t.Fatalf("attempt %d: got err %v, output %+v; want the instance back DRAINING", attempt, err, out)
			}
		}
	})
	t.Run("instances that are not ACTIVE or DRAINING and unknown ids are failures", func(t *testing.T) {
		out, err := update("DRAINING", registering, gone, unknown, active)
		if err != nil {
			t.Fatalf("UpdateContainerInstancesState: %v", err)
		}
		var got []string
		for _, fl := range out.Failures {
			got = append(got, aws.ToString(fl.Arn)+" "+aws.ToString(fl.Reason))
		}
		want := []string{registering + " REGISTERING", gone + " INACTIVE", unknown + " MISSING"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		if len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].ContainerInstanceArn) != active {
			t.Errorf("updated instances: got %d, want only %s", len(out.ContainerInstances), active)
		}
	})
	t.Run("ACTIVE undoes DRAINING", func(t *testing.T) {
		if _, err := update("ACTIVE", active); err != nil {
			t.Fatalf("UpdateContainerInstancesState(ACTIVE): %v", err)
		}
		if got := f.instance("i-active").Status; got != "ACTIVE" {
			t.Errorf("status after ACTIVE: got %s, want ACTIVE", got)
		}
	})
}
