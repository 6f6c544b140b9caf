package drain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// Lost launches. A launch chain carries no mark, so the reconciler cannot
// tell a live one from a lost one; what it can tell is how long a launch has
// waited, from its scaling activity. A launch that has waited a quarter of
// its hook's heartbeat timeout (and two polls) gets a sweep hop: one look
// that lets the instance in, abandons it, or records a heartbeat and ends
// (see NextLaunch), so a lost chain's launch is still decided, and its
// heartbeat never lapses into the hook's CONTINUE for a host that cannot
// join. A live chain meanwhile costs one more look a sweep.

// maxActivityPages bounds the scaling activities read per group and sweep:
// waiting launches are among the newest.
const maxActivityPages = 5

// launchActivity matches the description of a launch's scaling activity,
// "Launching a new EC2 instance: i-0123456789abcdef0" (also "...into warm
// pool: ...").
var launchActivity = regexp.MustCompile(`^Launching a new EC2 instance.*: (i-[0-9a-f]{8,17})`)

// SweepAfter is how long a launch may wait before the reconciler looks at
// it itself.
func SweepAfter(p Policy, heartbeatTimeout time.Duration) time.Duration {
	return max(heartbeatTimeout/4, 2*p.PollInterval)
}

// lostLaunches returns the launches that have waited long enough for a sweep
// hop, each with its start. One whose activity is not found among the newest
// has waited longer than that.
func (d *Drainer) lostLaunches(ctx context.Context, launches []Pending, now time.Time) ([]Pending, error) {
	var groups []string
	for _, p := range launches {
		if !slices.Contains(groups, p.Action.GroupName) {
			groups = append(groups, p.Action.GroupName)
		}
	}
	var out []Pending
	var errs []error
	for _, g := range groups {
		starts, err := d.launchStarts(ctx, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range launches {
			if p.Action.GroupName != g {
				continue
			}
			start, ok := starts[p.Action.InstanceID]
			if !ok {
				start = now.Add(-p.HeartbeatTimeout)
			}
			if now.Sub(start) >= SweepAfter(d.policy, p.HeartbeatTimeout) {
				p.Action.Time = start
				out = append(out, p)
			}
		}
	}
	return out, errors.Join(errs...)
}

// launchStarts reads when the group's recent launches started, by instance.
func (d *Drainer) launchStarts(ctx context.Context, group string) (map[string]time.Time, error) {
	starts := map[string]time.Time{}
	p := autoscaling.NewDescribeScalingActivitiesPaginator(d.asg, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: &group})
	for page := 0; page < maxActivityPages && p.HasMorePages(); page++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing the scaling activities of %s: %w", group, err)
		}
		for _, a := range out.Activities {
			if m := launchActivity.FindStringSubmatch(aws.ToString(a.Description)); m != nil && a.StartTime != nil {
				if _, seen := starts[m[1]]; !seen { // newest first: the latest launch of the id
					starts[m[1]] = *a.StartTime
				}
			}
		}
	}
	return starts, nil
}
