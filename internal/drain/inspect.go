package drain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
)

// Inspecting. The reconciler's sweep and the operator's command (cmd/ecs-drainer)
// read the drains in flight through the same calls: Inspect lists the
// instances waiting on the drainer's hooks with their chain marks, and
// Waiting.Live tells a live drain from a lost one by the rule the sweep
// restarts by. Look adds what a hop would see of one instance now (its tasks
// and the diagnosis of each, its deadline and timeout policy), through the
// hop's own diagnosis. Nothing here writes.

// Waiting is an instance waiting on one of the drainer's hooks, with what
// ECS shows of its drain.
type Waiting struct {
	Pending
	// OtherHooks are the group's other terminate hooks, which hold a
	// terminating instance too; nil for a launch.
	OtherHooks []string
	// Read: the cluster's DRAINING container instances were read (a
	// terminate action whose cluster could be read). The fields below are
	// valid only then.
	Read bool
	// Draining: the instance's container instance is DRAINING, named by
	// ContainerInstanceARN. Chain is its mark (nil: none), and Full says
	// that it has ECS's custom attributes and no mark, so none can be
	// written.
	Draining             bool
	ContainerInstanceARN string
	Chain                *Chain
	Full                 bool
}

// Live reports whether a live chain drains w at now: its container instance
// carries a mark no more than StaleAfter overdue, or cannot carry one (its
// first hop warned, and its drain completes by polling). A drain that is not
// live is the sweep's to restart, unless its action has ended.
func (w Waiting) Live(now time.Time, p Policy) bool {
	switch {
	case !w.Draining:
		return false
	case w.Chain != nil:
		return !now.After(w.Chain.Due.Add(StaleAfter(p, w.HeartbeatTimeout)))
	}
	return w.Full
}

// Inspection is what one Inspect read.
type Inspection struct {
	Waiting []Waiting
	// Groups are the groups Auto Scaling described, in its order.
	Groups []string
	// Now is when the marks were read, which their liveness counts from.
	Now time.Time
}

// Inspect lists the instances of the scope's groups (every group when it
// names none), in the group or its warm pool, that wait on one of the
// scope's hooks, with the chain marks of their clusters' DRAINING container
// instances. A group or cluster that cannot be read is left out, and its
// error returned with the rest.
func (d *Drainer) Inspect(ctx context.Context, scope Scope) (Inspection, error) {
	var in Inspection
	var errs []error
	batches := slices.Collect(slices.Chunk(scope.ASGs, maxGroupsPerCall))
	if len(scope.ASGs) == 0 {
		batches = [][]string{nil}
	}
	for _, batch := range batches {
		p := autoscaling.NewDescribeAutoScalingGroupsPaginator(d.asg, &autoscaling.DescribeAutoScalingGroupsInput{
			AutoScalingGroupNames: batch, MaxRecords: aws.Int32(maxGroupsPerCall),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				what := fmt.Sprintf("auto scaling groups %v", batch)
				if batch == nil {
					what = "the auto scaling groups"
				}
				errs = append(errs, fmt.Errorf("describing %s: %w", what, err))
				break
			}
			for _, g := range page.AutoScalingGroups {
				in.Groups = append(in.Groups, aws.ToString(g.AutoScalingGroupName))
				found, err := d.waitingIn(ctx, g, scope)
				if err != nil {
					errs = append(errs, err)
				}
				in.Waiting = append(in.Waiting, found...)
			}
		}
	}
	marks := map[string]map[string]markView{} // cluster -> EC2 instance -> mark
	for i := range in.Waiting {
		w := &in.Waiting[i]
		if w.Action.Launch() {
			continue // a launch carries no mark
		}
		m, ok := marks[w.Meta.Cluster]
		if !ok {
			var err error
			if m, err = d.chainMarks(ctx, w.Meta.Cluster); err != nil {
				errs = append(errs, err)
			}
			marks[w.Meta.Cluster] = m
		}
		if m == nil {
			continue
		}
		v, draining := m[w.Action.InstanceID]
		w.Read, w.Draining = true, draining
		w.ContainerInstanceARN, w.Chain, w.Full = v.arn, v.chain, v.full
	}
	in.Now = d.now()
	return in, errors.Join(errs...)
}

// Look is what a drain's hop would see of a waiting instance now.
type Look struct {
	// Instance is its container instance as described; nil when the
	// cluster has none for it.
	Instance *Instance
	// Tasks are the tasks left on it (lastStatus not STOPPED), and
	// Findings the diagnosis of each, as the drain's Diagnose step makes
	// it; Launching counts the group's instances on their way, which the
	// diagnosis's sentences (diagnose.Explain) name.
	Tasks     []Task
	Findings  []diagnose.Finding
	Launching int
	// Start is when the drain started, from its chain mark; zero when no
	// mark tells. Deadline is then when its timeout policy applies.
	Start, Deadline time.Time
	// OnTimeout is the timeout policy that applies at the deadline, and
	// StuckAfter how long every task may have a blocking reason before it
	// applies early (0: never), each the hook's over the operator's.
	OnTimeout  string
	StuckAfter time.Duration
}

// Look looks at each waiting instance as a drain's hop would: its container
// instance, the tasks left and their diagnosis, through one round whose
// reads the looks share. A launch is looked at for its container instance
// only. A look that fails is left zero and its error returned with the
// rest.
func (d *Drainer) Look(ctx context.Context, ws []Waiting) ([]Look, error) {
	round := d.newRound()
	looks := make([]Look, len(ws))
	var errs []error
	for i, w := range ws {
		l, err := round.look(ctx, w)
		if err != nil {
			errs = append(errs, fmt.Errorf("looking at %s: %w", w.Action.InstanceID, err))
		}
		looks[i] = l
	}
	return looks, errors.Join(errs...)
}

// look is one instance's Look.
func (p *Round) look(ctx context.Context, w Waiting) (Look, error) {
	d := p.d
	s := d.begin(w.Action, w.Meta)
	s.HeartbeatTimeoutSeconds = int(w.HeartbeatTimeout / time.Second)
	l := Look{OnTimeout: OnTimeout(s, d.policy), StuckAfter: stuckAfter(s, d.policy)}
	if w.Chain != nil {
		s.Start = w.Chain.Start
		l.Start, l.Deadline = s.Start, Deadline(s, d.policy)
	}
	in, _, err := d.findInstance(ctx, s)
	if err != nil || !in.Found || s.Launch {
		if in != nil && in.Found {
			l.Instance = in
		}
		return l, err
	}
	l.Instance, s.ContainerInstanceARN = in, in.ARN
	if l.Tasks, err = d.tasksLeft(ctx, s, in); err != nil || len(l.Tasks) == 0 {
		return l, err
	}
	l.Findings, err = p.diagnose(ctx, &s, Observation{Now: d.now(), Instance: in, Tasks: l.Tasks})
	l.Launching = s.Launching
	return l, err
}

// Release completes the drainer's lifecycle action on w's instance now,
// with result (ResultContinue or ResultAbandon), by instance id: what the
// drain's Complete step does. An action already over is an error that
// Classify calls AlreadyDone.
func (d *Drainer) Release(ctx context.Context, w Waiting, result string) error {
	if result != ResultContinue && result != ResultAbandon {
		return fmt.Errorf("releasing %s: result %q, want %s or %s", w.Action.InstanceID, result, ResultContinue, ResultAbandon)
	}
	return d.complete(ctx, State{GroupName: w.Action.GroupName, HookName: w.Action.HookName, InstanceID: w.Action.InstanceID}, result)
}

// DefaultPolicy is the policy of a function whose environment sets nothing:
// the contract's defaults.
func DefaultPolicy() Policy {
	return Policy{
		PollInterval: contract.PollInterval.Default, MaxDrain: contract.MaxDrain.Default, OnTimeout: contract.DefaultOnTimeout,
		StopGrace: contract.StopGrace.Default, StaleAfter: contract.StaleAfter.Default, DisconnectedAfter: contract.DisconnectedAfter.Default,
		MaxLaunch: contract.MaxLaunch.Default, StuckAfter: contract.StuckAfter.Default,
	}
}
