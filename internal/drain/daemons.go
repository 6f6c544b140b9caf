package drain

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The launch gate's optional daemon check: replicas must not fill a new
// instance before the cluster's daemons (log routers, metrics agents) have a
// task there (containers-roadmap#428).

// maxServicesPerDescribe is DescribeServices' limit of 10 services a call.
const maxServicesPerDescribe = 10

// daemon is a DAEMON service and the memberOf expressions its placement
// constraints require of an instance.
type daemon struct {
	name     string
	memberOf []string
}

// missingDaemons returns the daemon services of launch s's cluster whose
// placement allows its instance and that have no task RUNNING on it.
func (d *Drainer) missingDaemons(ctx context.Context, s State) ([]string, error) {
	daemons, err := d.daemons(ctx, s.Cluster)
	if err != nil || len(daemons) == 0 {
		return nil, err
	}
	tasks, err := d.tasksLeft(ctx, s, nil)
	if err != nil {
		return nil, err
	}
	running := map[string]bool{}
	for _, t := range tasks {
		if t.LastStatus == "RUNNING" && t.DesiredStatus == "RUNNING" {
			running[t.Group] = true
		}
	}
	var missing []string
	for _, dm := range daemons {
		if running["service:"+dm.name] {
			continue
		}
		allowed, err := d.allows(ctx, s, dm.memberOf)
		if err != nil {
			return nil, err
		}
		if allowed {
			missing = append(missing, dm.name)
		}
	}
	return missing, nil
}

// daemons lists the cluster's ACTIVE daemon services with their memberOf
// constraints.
func (d *Drainer) daemons(ctx context.Context, cluster string) ([]daemon, error) {
	var arns []string
	p := ecs.NewListServicesPaginator(d.ecs, &ecs.ListServicesInput{Cluster: &cluster, SchedulingStrategy: ecstypes.SchedulingStrategyDaemon})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the daemon services of %s: %w", cluster, err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	var out []daemon
	for batch := range slices.Chunk(arns, maxServicesPerDescribe) {
		desc, err := d.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: batch})
		if err != nil {
			return nil, fmt.Errorf("describing %d daemon services of %s: %w", len(batch), cluster, err)
		}
		for _, svc := range desc.Services {
			if aws.ToString(svc.Status) != "ACTIVE" || svc.SchedulingStrategy != ecstypes.SchedulingStrategyDaemon {
				continue
			}
			dm := daemon{name: aws.ToString(svc.ServiceName)}
			for _, c := range svc.PlacementConstraints {
				if c.Type == ecstypes.PlacementConstraintTypeMemberOf && aws.ToString(c.Expression) != "" {
					dm.memberOf = append(dm.memberOf, aws.ToString(c.Expression))
				}
			}
			out = append(out, dm)
		}
	}
	return out, nil
}

// allows reports whether launch s's instance satisfies every memberOf
// expression: ECS evaluates them, in the cluster query language, as a
// filter of ListContainerInstances narrowed to the instance.
func (d *Drainer) allows(ctx context.Context, s State, memberOf []string) (bool, error) {
	if len(memberOf) == 0 {
		return true, nil
	}
	filter := "ec2InstanceId == " + s.InstanceID
	for _, e := range memberOf {
		filter += " and (" + e + ")"
	}
	out, err := d.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: &s.Cluster, Filter: &filter})
	if err != nil {
		return false, fmt.Errorf("checking daemon placement (%s) on %s: %w", strings.Join(memberOf, " and "), s.InstanceID, err)
	}
	return len(out.ContainerInstanceArns) > 0, nil
}
