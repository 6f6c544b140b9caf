package drain

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Placed is a drain that an ECS placement failure concerns: the service's
// tasks on its instance cannot move, and why.
type Placed struct {
	Cluster, Group, Hook, InstanceID string
	Findings                         []diagnose.Finding
}

// Placement finds the drains a service's task placement failure concerns:
// the instances DRAINING under one of our chain marks, in one of the scope's
// groups, that still run tasks of the service. It only reads; the drains'
// chains go on and diagnose at their next look.
func (p *Round) Placement(ctx context.Context, e lifecycle.ServiceAction, scope Scope) ([]Placed, error) {
	d := p.d
	cluster, service := e.Cluster(), e.Service()
	var arns []string
	pages := ecs.NewListTasksPaginator(d.ecs, &ecs.ListTasksInput{Cluster: &cluster, ServiceName: &service})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the tasks of service %s of %s: %w", service, cluster, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	byInstance := map[string][]string{} // container instance -> task ARNs
	for batch := range slices.Chunk(arns, describeBatch) {
		out, err := d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: batch})
		if err != nil {
			return nil, fmt.Errorf("describing the tasks of service %s of %s: %w", service, cluster, err)
		}
		for _, t := range out.Tasks {
			if ci := aws.ToString(t.ContainerInstanceArn); ci != "" && aws.ToString(t.LastStatus) != "STOPPED" {
				byInstance[ci] = append(byInstance[ci], aws.ToString(t.TaskArn))
			}
		}
	}
	type marked struct {
		ec2, hook string
		tasks     []string
	}
	var draining []marked
	var ids []string
	cis := slices.Sorted(func(yield func(string) bool) {
		for ci := range byInstance {
			if !yield(ci) {
				return
			}
		}
	})
	for batch := range slices.Chunk(cis, maxInstancesPerDescribe) {
		out, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: &cluster, ContainerInstances: batch})
		if err != nil {
			return nil, fmt.Errorf("describing the instances of service %s of %s: %w", service, cluster, err)
		}
		for _, ci := range out.ContainerInstances {
			in, chain := described(ci)
			if in.Status != StatusDraining || chain == nil || !lifecycle.ValidInstanceID(in.EC2InstanceID) {
				continue
			}
			draining = append(draining, marked{ec2: in.EC2InstanceID, hook: chain.Hook, tasks: byInstance[in.ARN]})
			ids = append(ids, in.EC2InstanceID)
		}
	}
	groups := d.waitingGroups(ctx, ids)
	resource := diagnose.ResourceOfReason(e.Reason)
	var out []Placed
	for _, m := range draining {
		w := groups[m.ec2]
		if w.status(terminateWaitStates) != ActionPending || !scope.Group(w.group) || m.hook != "" && !scope.Hook(m.hook) {
			continue
		}
		pl := Placed{Cluster: cluster, Group: w.group, Hook: m.hook, InstanceID: m.ec2}
		for _, t := range m.tasks {
			pl.Findings = append(pl.Findings, diagnose.Finding{Task: t, Service: service, Reason: contract.ReasonNoCapacity, Resource: resource})
		}
		out = append(out, pl)
	}
	return out, nil
}
