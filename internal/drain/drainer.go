package drain

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// ECSAPI is the part of the ECS API the drain uses; *ecs.Client satisfies it.
type ECSAPI interface {
	ListContainerInstances(context.Context, *ecs.ListContainerInstancesInput, ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error)
	DescribeContainerInstances(context.Context, *ecs.DescribeContainerInstancesInput, ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error)
	UpdateContainerInstancesState(context.Context, *ecs.UpdateContainerInstancesStateInput, ...func(*ecs.Options)) (*ecs.UpdateContainerInstancesStateOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	GetTaskProtection(context.Context, *ecs.GetTaskProtectionInput, ...func(*ecs.Options)) (*ecs.GetTaskProtectionOutput, error)
	StopTask(context.Context, *ecs.StopTaskInput, ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
	PutAttributes(context.Context, *ecs.PutAttributesInput, ...func(*ecs.Options)) (*ecs.PutAttributesOutput, error)
	DeleteAttributes(context.Context, *ecs.DeleteAttributesInput, ...func(*ecs.Options)) (*ecs.DeleteAttributesOutput, error)
	ListServices(context.Context, *ecs.ListServicesInput, ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// AutoScalingAPI is the part of the Auto Scaling API the drain uses;
// *autoscaling.Client satisfies it.
type AutoScalingAPI interface {
	DescribeLifecycleHooks(context.Context, *autoscaling.DescribeLifecycleHooksInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error)
	DescribeAutoScalingInstances(context.Context, *autoscaling.DescribeAutoScalingInstancesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error)
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeWarmPool(context.Context, *autoscaling.DescribeWarmPoolInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeWarmPoolOutput, error)
	CompleteLifecycleAction(context.Context, *autoscaling.CompleteLifecycleActionInput, ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error)
	RecordLifecycleActionHeartbeat(context.Context, *autoscaling.RecordLifecycleActionHeartbeatInput, ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error)
	DescribeScalingActivities(context.Context, *autoscaling.DescribeScalingActivitiesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error)
}

// QueueAPI is the part of the SQS API the drain uses; *sqs.Client satisfies it.
type QueueAPI interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Drainer runs drains against AWS.
type Drainer struct {
	ecs      ECSAPI
	asg      AutoScalingAPI
	sqs      QueueAPI
	queueURL string
	policy   Policy
	now      func() time.Time
	newID    func() string // a chain message's id
}

// New builds a Drainer with real AWS clients from cfg, each call bounded
// (see BoundCalls), whose writes the concurrent hops of an invocation share
// (see CoalescingECS).
func New(cfg aws.Config, queueURL string, p Policy) *Drainer {
	cfg = BoundCalls(cfg)
	return NewWithClients(CoalescingECS(ecs.NewFromConfig(cfg)), autoscaling.NewFromConfig(cfg), CoalescingQueue(sqs.NewFromConfig(cfg)), queueURL, p, time.Now)
}

// NewWithClients builds a Drainer on the given clients and clock.
func NewWithClients(e ECSAPI, a AutoScalingAPI, q QueueAPI, queueURL string, p Policy, now func() time.Time) *Drainer {
	return &Drainer{ecs: e, asg: a, sqs: q, queueURL: queueURL, policy: p, now: now, newID: newChainID}
}

// Result is how one invocation of a drain ended.
type Result struct {
	Outcome Outcome
	Attempt int    // the hop this was: 1 for the event that started the drain
	State   State  // the state after this hop; for Requeue, the state sent
	Tasks   []Task // tasks left when the drain was last observed
	Delay   time.Duration
	// Heartbeat is true when this hop recorded a lifecycle heartbeat.
	Heartbeat bool
	// Notes are failures that did not stop the hop (the chain mark could
	// not be written, task protection could not be read).
	Notes []string
	// ActionResult is the result this hop completed the action with.
	ActionResult string
	// Unmarkable is set by the hop that found the instance cannot carry a
	// chain mark: from it on, the drain goes on by polling alone.
	Unmarkable bool
	// Instance is the container instance as last described (nil: not
	// looked up), whose counts stand for the tasks of a hop that did not
	// list them.
	Instance *Instance
	// Waiting says what a launch still waits for, "" when nothing.
	Waiting string
	// Findings are this hop's diagnosis of the tasks left (nil: none
	// made), and DiagnosisChanged whether it differs from the last.
	Findings         []diagnose.Finding
	DiagnosisChanged bool
	// Began is set by the hop that began a new drain (see began): the one
	// the drains-started metric and event count.
	Began bool
}

// begin is the state of a drain before its first hop.
func (d *Drainer) begin(a lifecycle.Action, meta lifecycle.HookMetadata) State {
	// The hook's timers started when the instance entered the wait state,
	// which is the event's time; a clock ahead of ours is not trusted.
	start := a.Time
	if now := d.now(); start.IsZero() || start.After(now) {
		start = now
	}
	return State{
		StuckAfterSeconds: stuckAfterSeconds(meta.StuckAfter),
		EventID:           a.EventID, Cluster: meta.Cluster, GroupName: a.GroupName, HookName: a.HookName, OnTimeout: meta.OnTimeout,
		InstanceID: a.InstanceID, Token: a.Token, Start: start, LastHeartbeat: start, Attempt: 1, Launch: a.Launch(),
		IntoWarmPool: !a.Launch() && a.IntoWarmPool(),
	}
}

// runFrom runs a hop from what is already observed: Next makes only the
// calls whose answer is not known yet.
func (d *Drainer) runFrom(ctx context.Context, s State, o Observation) (Result, error) {
	if s.Launch {
		return d.runLaunch(ctx, s, o)
	}
	recordID := o.RecordID
	var notes []string
	diagnosisChanged, setDraining := false, false
	for {
		o.Now = d.now()
		track(&s, o)
		step := Next(s, o, d.policy)
		res := Result{Outcome: step.Outcome, Attempt: s.Attempt, State: s, Tasks: o.Tasks, Heartbeat: o.HeartbeatSent, Notes: notes, Instance: o.Instance,
			Findings: o.Findings, DiagnosisChanged: diagnosisChanged}
		var err error
		switch step.Kind {
		case DescribeHook:
			err = d.describeHook(ctx, &s, &o)
		case CheckAction:
			o.Action, err = d.actionStatus(ctx, s)
		case FindInstance:
			o.Instance, o.Chain, err = d.findInstance(ctx, s)
			if err == nil && o.Instance.Found {
				d.adopt(&s, o)
			}
		case MarkDraining:
			err = d.markDraining(ctx, s)
			if err == nil {
				setDraining = true
				o.Instance.Status = StatusDraining
				s.SetDraining = s.SetDraining || s.IntoWarmPool
			}
		case CountTasks:
			o.Tasks, err = d.tasksLeft(ctx, s, o.Instance)
			o.TasksCounted = err == nil
		case Diagnose:
			round := o.round
			if round == nil {
				round = d.newRound()
			}
			var derr error
			o.Findings, derr = round.diagnose(ctx, &s, o)
			if derr != nil {
				notes = append(notes, "diagnosis: "+derr.Error())
			}
			o.Diagnosed, o.ProtectionChecked = true, true
			diagnosisChanged = recordDiagnosis(&s, o) || diagnosisChanged
		case CheckProtection:
			if perr := d.protection(ctx, s, o.Tasks); perr != nil {
				notes = append(notes, perr.Error())
			}
			o.ProtectionChecked = true
		case StopTasks:
			err = d.stopTasks(ctx, s, o.Tasks)
			if err == nil {
				s.TasksStoppedAt = o.Now
			}
		case Heartbeat:
			err = d.heartbeat(ctx, s)
			if Classify(err) == AlreadyDone {
				res.Outcome = OutcomeActionGone
				return res, nil
			}
			if err == nil {
				o.HeartbeatSent, s.LastHeartbeat = true, o.Now
			}
		case Complete:
			if s.IntoWarmPool && s.SetDraining && !s.Unmarked && !o.Instance.Full {
				// The instance comes back DRAINING when it leaves the pool:
				// the mark says the drain was ours (see NextLaunch).
				c := Chain{Start: s.Start, Due: o.Now, MessageID: short(self(s, recordID)), By: short(self(s, recordID)), Token: s.Token, Hook: s.HookName}
				if merr := d.mark(ctx, s, c); merr != nil {
					res.Notes = append(res.Notes, merr.Error())
				}
			}
			res, err = d.finish(ctx, s, step.Result, res)
			// Completing is exclusive: of two deliveries of one event that
			// both found an empty instance, one succeeds.
			res.Began = err == nil && res.ActionResult != "" && began(s, o, true)
			return res, err
		case Requeue:
			next := successor(s, recordID, d.newID())
			next.Due = o.Now.Add(step.Delay)
			if o.Instance.Full && !s.Unmarked {
				next.Unmarked, res.Unmarkable = true, true
			}
			res.State, res.Outcome, res.Delay = next, OutcomeRequeued, step.Delay
			// The mark is written before the send, so the next hop never
			// reads a mark older than its own; a hop that stops in between
			// is redelivered and finds itself named as the writer.
			if !next.Unmarked {
				c := Chain{Start: s.Start, Due: next.Due, MessageID: next.ID, By: short(self(s, recordID)), Token: s.Token, Hook: s.HookName, Blocked: s.BlockedReason}
				if merr := d.mark(ctx, s, c); merr != nil {
					res.Notes = append(res.Notes, merr.Error())
					next = unmarked(next, o.Chain)
					res.State = next
				}
			}
			err = d.requeue(ctx, next, step.Delay)
			res.Began = err == nil && began(s, o, setDraining)
			return res, err
		case End:
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", step.Kind, err)
		}
	}
}

// finish completes drain s's action with result, which res then reports;
// an action already over is no error: res says OutcomeAlreadyCompleted, with
// no result, since the drainer did not complete it.
func (d *Drainer) finish(ctx context.Context, s State, result string, res Result) (Result, error) {
	err := d.complete(ctx, s, result)
	res.ActionResult = result
	if Classify(err) == AlreadyDone {
		res.Outcome, res.ActionResult = OutcomeAlreadyCompleted, ""
		return res, nil
	}
	return res, err
}

// began reports whether the first hop of drain s, which observed o and
// re-queued the drain, began it: the instance carried no mark of its
// lifecycle action (a later delivery of the event, or the reconciler's
// restart, finds the mark its first hop wrote). An instance that cannot
// carry a mark counts when this hop set it DRAINING. Two deliveries of one
// event processed at the same moment both see no mark and both count: the
// chain protocol resolves their fork, this count does not.
func began(s State, o Observation, setDraining bool) bool {
	switch {
	case s.Attempt != 1:
		return false
	case o.Instance != nil && o.Instance.Full:
		return setDraining
	}
	return o.Chain == nil || s.Token != "" && o.Chain.Token != s.Token
}

// track keeps when the drain's agent was first seen disconnected, from the
// instance as last described.
func track(s *State, o Observation) {
	switch {
	case o.Instance == nil || !o.Instance.Found:
	case !o.Instance.Disconnected:
		s.DisconnectedSince = time.Time{}
	case s.DisconnectedSince.IsZero():
		s.DisconnectedSince = o.Now
	}
}

// adopt takes the start of the chain a reconciler's first hop (which has no
// event, so no start or token of its own) finds on the instance: a drain
// restarted after its chain was lost keeps its original deadline.
func (d *Drainer) adopt(s *State, o Observation) {
	s.ContainerInstanceARN = o.Instance.ARN
	if c := o.Chain; c != nil && s.Attempt == 1 && s.Token == "" && c.Start.Before(s.Start) {
		s.Start = c.Start
		s.LastHeartbeat = c.Start
		if s.HeartbeatTimeoutSeconds > 0 {
			s.Deadline = Deadline(*s, d.policy)
		}
	}
}

func (d *Drainer) describeHook(ctx context.Context, s *State, o *Observation) error {
	// All the group's hooks, in the same one call: the others are worth a
	// warning.
	out, err := d.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: &s.GroupName})
	if err != nil {
		return fmt.Errorf("describing lifecycle hook %s of %s: %w", s.HookName, s.GroupName, err)
	}
	h := hooksOf(out.LifecycleHooks)[s.HookName]
	h.apply(s, o, d.policy)
	return nil
}

// hookView is what a drain needs of its hook: its heartbeat timeout (0: the
// hook does not exist) and the group's other terminate hooks.
type hookView struct {
	heartbeatTimeout int
	others           []string
}

// apply sets drain s's heartbeat timeout and deadline from its hook.
func (h hookView) apply(s *State, o *Observation, p Policy) {
	if h.heartbeatTimeout == 0 {
		o.HookMissing = true
		return
	}
	// GlobalTimeout is min(48 h, 100 x HeartbeatTimeout) by definition;
	// Deadline derives it from the heartbeat timeout the state carries.
	s.HeartbeatTimeoutSeconds = h.heartbeatTimeout
	s.Deadline = Deadline(*s, p)
	if !s.Launch {
		s.OtherHooks = h.others
	}
}

// hooksOf reads one group's hooks by name: each hook's heartbeat timeout,
// with the names of the group's other terminate hooks.
func hooksOf(hooks []astypes.LifecycleHook) map[string]hookView {
	var terminate []string
	for _, h := range hooks {
		if aws.ToString(h.LifecycleTransition) == lifecycle.TransitionTerminate {
			terminate = append(terminate, aws.ToString(h.LifecycleHookName))
		}
	}
	views := make(map[string]hookView, len(hooks))
	for _, h := range hooks {
		name := aws.ToString(h.LifecycleHookName)
		v := hookView{heartbeatTimeout: int(aws.ToInt32(h.HeartbeatTimeout))}
		for _, other := range terminate {
			if other != name {
				v.others = append(v.others, other)
			}
		}
		views[name] = v
	}
	return views
}

// terminateWaitStates are the lifecycle states in which a terminate action
// is pending: the instance is about to terminate, from the group or from its
// warm pool, or (with a warm pool's instance reuse policy) about to return to
// the pool.
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html
var terminateWaitStates = map[string]bool{"Terminating:Wait": true, "Warmed:Terminating:Wait": true, "Warmed:Pending:Wait": true}

func (d *Drainer) actionStatus(ctx context.Context, s State) (ActionStatus, error) {
	found, err := d.describeWaiting(ctx, []string{s.InstanceID})
	if err != nil {
		return ActionUnknown, err
	}
	return found[s.InstanceID].of(s), nil
}

func (d *Drainer) findInstance(ctx context.Context, s State) (*Instance, *Chain, error) {
	arn := s.ContainerInstanceARN
	if arn == "" {
		// The filter makes ECS do the search: listing every instance of a
		// large cluster and filtering here costs pages of calls per drain.
		out, err := d.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{
			Cluster: &s.Cluster,
			Filter:  aws.String("ec2InstanceId == " + s.InstanceID),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("listing container instances of %s for %s: %w", s.Cluster, s.InstanceID, err)
		}
		if len(out.ContainerInstanceArns) == 0 {
			return &Instance{}, nil, nil
		}
		arn = out.ContainerInstanceArns[0]
	}
	out, err := d.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster:            &s.Cluster,
		ContainerInstances: []string{arn},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("describing container instance %s: %w", arn, err)
	}
	for _, ci := range out.ContainerInstances {
		// Checked again here so that no filter quirk can make us drain an
		// instance other than the one terminating.
		if aws.ToString(ci.Ec2InstanceId) != s.InstanceID {
			continue
		}
		in, chain := described(ci)
		return &in, chain, nil
	}
	return &Instance{}, nil, nil
}

// described reads a container instance as DescribeContainerInstances returns
// it, with its chain mark (nil: none).
func described(ci ecstypes.ContainerInstance) (Instance, *Chain) {
	in := Instance{
		Found: true, ARN: aws.ToString(ci.ContainerInstanceArn), Status: aws.ToString(ci.Status), StatusReason: aws.ToString(ci.StatusReason),
		EC2InstanceID: aws.ToString(ci.Ec2InstanceId),
		Busy: ci.RunningTasksCount+ci.PendingTasksCount > 0 ||
			lifecycle.Reserved(integerResources(ci.RegisteredResources), integerResources(ci.RemainingResources)),
		Disconnected: !ci.AgentConnected,
		Running:      int(ci.RunningTasksCount),
		Pending:      int(ci.PendingTasksCount),
	}
	in.Quiet = in.Status == StatusDraining && !in.Busy
	c, marked := chainOf(ci)
	in.Full = !marked && customAttributes(ci.Attributes) >= maxCustomAttributes
	if marked {
		return in, &c
	}
	return in, nil
}

// maxCustomAttributes is ECS's limit of custom attributes per resource;
// PutAttributes past it answers AttributeLimitExceededException.
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutAttributes.html
const maxCustomAttributes = 10

// customAttributes counts the attributes that are not ECS's own ("ecs.").
func customAttributes(as []ecstypes.Attribute) int {
	n := 0
	for _, a := range as {
		if !strings.HasPrefix(aws.ToString(a.Name), "ecs.") {
			n++
		}
	}
	return n
}

func integerResources(rs []ecstypes.Resource) map[string]int {
	m := make(map[string]int, len(rs))
	for _, r := range rs {
		m[aws.ToString(r.Name)] = int(r.IntegerValue)
	}
	return m
}

// mark writes the chain mark on the container instance.
func (d *Drainer) mark(ctx context.Context, s State, c Chain) error {
	_, err := d.ecs.PutAttributes(ctx, &ecs.PutAttributesInput{
		Cluster: &s.Cluster,
		Attributes: []ecstypes.Attribute{{
			Name: aws.String(ChainAttribute), Value: aws.String(c.String()),
			TargetType: ecstypes.TargetTypeContainerInstance, TargetId: &s.ContainerInstanceARN,
		}},
	})
	if err != nil {
		return fmt.Errorf("marking the drain's chain on %s: %w", s.ContainerInstanceARN, err)
	}
	return nil
}

func (d *Drainer) markDraining(ctx context.Context, s State) error {
	return d.setStatus(ctx, s, ecstypes.ContainerInstanceStatusDraining)
}

// setStatus sets drain or launch s's container instance DRAINING or ACTIVE;
// a failure ECS reports in the answer is an error too.
func (d *Drainer) setStatus(ctx context.Context, s State, status ecstypes.ContainerInstanceStatus) error {
	out, err := d.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster:            &s.Cluster,
		ContainerInstances: []string{s.ContainerInstanceARN},
		Status:             status,
	})
	if err != nil {
		return fmt.Errorf("setting container instance %s %s: %w", s.ContainerInstanceARN, status, err)
	}
	if len(out.Failures) > 0 {
		f := out.Failures[0]
		return fmt.Errorf("setting container instance %s %s: ECS reported failure %s: %s", s.ContainerInstanceARN, status, aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	return nil
}

func (d *Drainer) heartbeat(ctx context.Context, s State) error {
	in := &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: &s.GroupName,
		LifecycleHookName:    &s.HookName,
	}
	setActionTarget(s, &in.LifecycleActionToken, &in.InstanceId)
	if _, err := d.asg.RecordLifecycleActionHeartbeat(ctx, in); err != nil {
		return fmt.Errorf("recording lifecycle heartbeat for %s: %w", s.InstanceID, err)
	}
	return nil
}

func (d *Drainer) complete(ctx context.Context, s State, result string) error {
	in := &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName:  &s.GroupName,
		LifecycleHookName:     &s.HookName,
		LifecycleActionResult: &result,
	}
	setActionTarget(s, &in.LifecycleActionToken, &in.InstanceId)
	if _, err := d.asg.CompleteLifecycleAction(ctx, in); err != nil {
		return fmt.Errorf("completing lifecycle action for %s: %w", s.InstanceID, err)
	}
	return nil
}

// setActionTarget names the lifecycle action by its token when the event
// carried one, else by instance id: the token pins this exact action, so a
// late message can never complete a newer action on the same instance.
func setActionTarget(s State, token, instanceID **string) {
	if s.Token != "" {
		*token = aws.String(s.Token)
		return
	}
	*instanceID = aws.String(s.InstanceID)
}

// requeue sends the drain's next message.
func (d *Drainer) requeue(ctx context.Context, s State, delay time.Duration) error {
	body, err := s.Encode()
	if err != nil {
		return fmt.Errorf("encoding re-queue message: %w", err)
	}
	if _, err := d.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     &d.queueURL,
		MessageBody:  aws.String(string(body)),
		DelaySeconds: int32(delay / time.Second), // #nosec G115 -- RequeueDelay keeps it within SQS's 0..900 s
	}); err != nil {
		return fmt.Errorf("re-queueing drain of %s: %w", s.InstanceID, err)
	}
	return nil
}

// Resend puts a record body back on the queue unchanged, for a record the
// invocation has no time left to process.
func (d *Drainer) Resend(ctx context.Context, body string) error {
	if _, err := d.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &d.queueURL, MessageBody: &body}); err != nil {
		return fmt.Errorf("sending record back to the queue: %w", err)
	}
	return nil
}
