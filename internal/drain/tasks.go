package drain

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// describeBatch is DescribeTasks' limit of 100 tasks per call.
const describeBatch = 100

// tasksLeft returns the tasks on the instance whose lastStatus is not yet
// STOPPED. Both desired statuses are listed: a task ECS has told to stop has
// desiredStatus STOPPED at once, while its containers may still be draining
// connections for up to their stop timeout; runningTasksCount and ListTasks'
// default view (desired RUNNING) no longer show it, and drainers that trusted
// them released instances early (aws-cdk#13506, ecs-cid-sample#27).
func (d *Drainer) tasksLeft(ctx context.Context, s State) ([]Task, error) {
	var arns []string
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(d.ecs, &ecs.ListTasksInput{
			Cluster:           &s.Cluster,
			ContainerInstance: &s.ContainerInstanceARN,
			DesiredStatus:     desired,
		})
		for p.HasMorePages() {
			page, err := d.page(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("listing %s tasks on %s: %w", desired, s.ContainerInstanceARN, err)
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	// A task told to stop between the two calls is listed under both.
	slices.Sort(arns)
	arns = slices.Compact(arns)
	var left []Task
	for batch := range slices.Chunk(arns, describeBatch) {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		out, err := d.ecs.DescribeTasks(cctx, &ecs.DescribeTasksInput{Cluster: &s.Cluster, Tasks: batch})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("describing %d tasks on %s: %w", len(batch), s.ContainerInstanceARN, err)
		}
		// A task reported MISSING has stopped and aged out of ECS; it
		// runs nowhere.
		for _, t := range out.Tasks {
			if aws.ToString(t.LastStatus) == "STOPPED" {
				continue
			}
			left = append(left, Task{
				ARN: aws.ToString(t.TaskArn), Group: aws.ToString(t.Group), StartedBy: aws.ToString(t.StartedBy),
				LastStatus: aws.ToString(t.LastStatus), DesiredStatus: aws.ToString(t.DesiredStatus),
			})
		}
	}
	return left, nil
}

func (d *Drainer) page(ctx context.Context, p *ecs.ListTasksPaginator) (*ecs.ListTasksOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return p.NextPage(ctx)
}
