package ecs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// remainingPorts reads a container instance's remaining PORTS over the wire.
func (f *fixture) remainingPorts(ec2ID string) []string {
	f.t.Helper()
	for _, r := range f.describe(ec2ID).RemainingResources {
		if aws.ToString(r.Name) == "PORTS" && aws.ToString(r.Type) == "STRINGSET" {
			return r.StringSetValue
		}
	}
	return nil
}

// Every taskDefinitionArn that DescribeServices and DescribeTasks return
// must be one DescribeTaskDefinition answers, with the cpu, memory and port
// mappings the scheduler places by: a drain's feasibility check reads the
// fixed host ports there and looks for them in the other instances'
// remaining PORTS. A family given another shape gets the next revision;
// the family alone names the latest. A task definition ECS does not have is
// ClientException "Unable to describe task definition." (OBSERVED).
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Resource.html.
func TestDescribeTaskDefinitionAnswersForEveryTaskAndService(t *testing.T) {
	f := newFixture(t, Options{})
	f.register("i-1", Resources{})
	f.createService(ServiceSpec{Name: "web", DesiredCount: 1, CPU: 256, Memory: 512, HostPort: 80})
	f.createService(ServiceSpec{Name: "api", DesiredCount: 1, CPU: 128, Memory: 128, NetworkMode: NetworkModeHost, ContainerPort: 8080})
	f.createService(ServiceSpec{Name: "worker", DesiredCount: 1, CPU: 64, Memory: 64, ContainerPort: 9000})
	first := f.runTask("i-1", TaskSpec{Family: "batch", CPU: 128, Memory: 128})
	second := f.runTask("i-1", TaskSpec{Family: "batch", CPU: 256, Memory: 128})
	third := f.runTask("i-1", TaskSpec{Family: "batch", CPU: 128, Memory: 128})

	type def struct {
		ARN, Mode, CPU, Memory string
		Ports                  []string // containerPort:hostPort/protocol
	}
	describe := func(ref string) (def, error) {
		out, err := f.api.DescribeTaskDefinition(f.ctx, &ecssdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		if err != nil {
			return def{}, err
		}
		td := out.TaskDefinition
		d := def{ARN: aws.ToString(td.TaskDefinitionArn), Mode: string(td.NetworkMode), CPU: aws.ToString(td.Cpu), Memory: aws.ToString(td.Memory)}
		if family, _, _ := strings.Cut(lastSegment(d.ARN), ":"); len(td.ContainerDefinitions) != 1 || td.Status != types.TaskDefinitionStatusActive ||
			aws.ToString(td.Family) != family || fmt.Sprintf("%s:%d", family, td.Revision) != lastSegment(d.ARN) {
			t.Errorf("DescribeTaskDefinition(%s): %+v, want one container, ACTIVE, its family and revision in its ARN", ref, td)
		}
		for _, c := range td.ContainerDefinitions {
			for _, m := range c.PortMappings {
				d.Ports = append(d.Ports, fmt.Sprintf("%d:%d/%s", aws.ToInt32(m.ContainerPort), aws.ToInt32(m.HostPort), m.Protocol))
			}
		}
		return d, nil
	}
	const prefix = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
	for _, tc := range []struct {
		ref  string
		want def
	}{
		{"web", def{prefix + "web:1", "bridge", "256", "512", []string{"80:80/tcp"}}},
		{"api:1", def{prefix + "api:1", "host", "128", "128", []string{"8080:8080/tcp"}}},
		{prefix + "worker:1", def{prefix + "worker:1", "bridge", "64", "64", []string{"9000:0/tcp"}}},
		{"batch", def{prefix + "batch:2", "bridge", "256", "128", nil}},
		{"batch:1", def{prefix + "batch:1", "bridge", "128", "128", nil}},
	} {
		got, err := describe(tc.ref)
		if err != nil {
			t.Errorf("DescribeTaskDefinition(%s): %v", tc.ref, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("DescribeTaskDefinition(%s) (-want +got):\n%s", tc.ref, diff)
		}
	}
	for _, ref := range []string{"batch:3", "nope", prefix + "web:2"} {
		var ce *types.ClientException
		if _, err := describe(ref); !errors.As(err, &ce) || ce.ErrorMessage() != "Unable to describe task definition." {
			t.Errorf("DescribeTaskDefinition(%s): got %v, want ClientException: Unable to describe task definition.", ref, err)
		}
	}

	for arn, want := range map[string]string{first: prefix + "batch:1", second: prefix + "batch:2", third: prefix + "batch:1"} {
		if got := aws.ToString(f.describeTask(arn).TaskDefinitionArn); got != want {
			t.Errorf("task %s: taskDefinitionArn %s, want %s", arn, got, want)
		}
	}
	for _, name := range []string{"web", "api", "worker"} {
		if got := aws.ToString(f.describeService(name).TaskDefinition); got != prefix+name+":1" {
			t.Errorf("service %s: taskDefinition %s, want %s:1", name, got, name)
		}
	}
	// The fixed host ports are taken, the dynamic one is not.
	ports := f.remainingPorts("i-1")
	if !slices.Contains(ports, "80") || !slices.Contains(ports, "8080") || slices.Contains(ports, "9000") {
		t.Errorf("i-1 remaining PORTS %v, want 80 and 8080 taken and 9000 (dynamic) not", ports)
	}

	if err := f.srv.CreateService(clusterName, ServiceSpec{Name: "bad", NetworkMode: NetworkModeHost, HostPort: 80, ContainerPort: 8080}); err == nil {
		t.Error("CreateService in host mode with hostPort 80 and containerPort 8080: got no error, want one")
	}
	if err := f.srv.CreateService(clusterName, ServiceSpec{Name: "bad", NetworkMode: "awsvpc"}); err == nil {
		t.Error("CreateService in awsvpc mode: got no error, want one (not modelled)")
	}
}
