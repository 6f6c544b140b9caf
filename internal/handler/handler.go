// Package handler adapts Lambda payloads to drains: it recognises the payload
// shape (an SQS batch, or an EventBridge event invoked directly), turns each
// record into a drain start or continuation, logs one line per record with
// the outcome, and reports per-record failures so one bad record never makes
// the others run again.
package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/diagnose"
	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

// Drainer reads what a batch's records ask first in shared calls, and does
// what no record's hop does.
type Drainer interface {
	Prefetch(ctx context.Context, b drain.Batch) Round
	Resend(ctx context.Context, body string) error
	Lost(ctx context.Context, scope drain.Scope) (drain.Sweep, error)
	Restart(ctx context.Context, p drain.Pending, eventID string) error
}

// Round runs one record's hop from what its batch's shared calls observed.
type Round interface {
	Start(ctx context.Context, a lifecycle.Action, meta lifecycle.HookMetadata, recordID string) (drain.Result, error)
	Continue(ctx context.Context, s drain.State, recordID string) (drain.Result, error)
	Settle(ctx context.Context, e lifecycle.ECSEvent, scope drain.Scope) (drain.Result, error)
	Placement(ctx context.Context, e lifecycle.ServiceAction, scope drain.Scope) ([]drain.Placed, error)
}

// Config selects what the handler drains: records of other groups and
// hooks are logged and ignored, and the reconciler sweeps exactly the
// scope's groups and hooks.
type Config = drain.Scope

// Handler is the Lambda handler.
type Handler struct {
	d   Drainer
	obs Observers
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// Observers are what the handler reports to besides its log lines.
type Observers struct {
	Announcer Announcer // drain state change events; nil: none
	// Throttles are the AWS answers the invocation's calls had throttled,
	// by service, taken at each invocation's end; nil: not counted.
	Throttles interface{ Take() map[string]int }
}

// New returns a Handler running d's drains.
func New(d *drain.Drainer, cfg Config, log *slog.Logger, now func() time.Time, obs Observers) *Handler {
	return newHandler(batched{d}, cfg, log, now, obs)
}

func newHandler(d Drainer, cfg Config, log *slog.Logger, now func() time.Time, obs Observers) *Handler {
	return &Handler{d: d, obs: obs, cfg: cfg, log: log, now: now}
}

// batched is a *drain.Drainer whose Prefetch returns its round as a Round.
type batched struct{ *drain.Drainer }

func (b batched) Prefetch(ctx context.Context, batch drain.Batch) Round {
	return b.Drainer.Prefetch(ctx, batch)
}

// minBudget is the invocation time a record needs before it is started: a
// hop makes a handful of calls, each bounded by its own timeout. With less
// left, the record is sent back to the queue unchanged rather than started
// and cut off by the function timeout, which would fail the whole batch.
const minBudget = 10 * time.Second

// record is one body of an invocation, parsed and scoped once.
type record struct {
	id  string // the SQS message id; "" when EventBridge invokes directly
	in  lifecycle.Input
	err error // the body can never be processed
	// meta is an action's hook metadata; scoped is nil for an action or
	// re-queue message of one of the drainer's groups and hooks, a *Skip
	// for another's, and the error of an action whose metadata is bad.
	meta   lifecycle.HookMetadata
	scoped error
}

func (h *Handler) parse(id string, body []byte) record {
	r := record{id: id}
	r.in, r.err = lifecycle.Parse(body)
	switch {
	case r.err != nil:
	case r.in.Action != nil:
		a := r.in.Action
		r.meta, r.scoped = h.cfg.Drains(a.GroupName, a.HookName, a.NotificationMetadata)
	case r.in.Message != nil:
		r.scoped = h.cfg.Covers(r.in.Message.GroupName, r.in.Message.HookName)
	}
	return r
}

// Invoke handles one Lambda invocation.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	ctx, ann := withAnnouncements(ctx)
	// Deferred calls run last first: the events are put before the
	// throttled calls are counted, so PutEvents' own count in this
	// invocation's.
	defer h.throttled(ctx)
	defer h.flush(ctx, ann)
	var batch events.SQSEvent
	if err := json.Unmarshal(payload, &batch); err == nil && len(batch.Records) > 0 && batch.Records[0].EventSource == "aws:sqs" {
		return h.batch(ctx, batch), nil
	}
	// The rule may also target the function directly: then the payload is
	// the event, and a returned error makes Lambda retry the invocation.
	r := h.parse("", payload)
	round, _ := h.prefetch(ctx, []record{r})
	return nil, h.record(ctx, round, r, slog.String(keyRequestID, requestID(ctx)))
}

// prefetch reads, in shared calls, what the records' lifecycle actions,
// re-queue messages and ECS events will each ask first (the hook, is the
// action pending, the container instance and its mark), so N drains of a
// cluster cost ceil(N/100) DescribeContainerInstances instead of N. Records
// that do not parse or will be ignored are left out. It also returns the
// records that repeat an earlier one, with why: an ECS event about the same
// container instance (one look at an instance answers for every event of
// the batch about it), or a second delivery of the same lifecycle event
// (which would start a second chain of the drain at the same moment).
func (h *Handler) prefetch(ctx context.Context, recs []record) (Round, map[int]string) {
	var b drain.Batch
	repeats := map[int]string{}
	named := map[string]bool{}
	events := map[string]bool{}
	for i, r := range recs {
		switch in := r.in; {
		case r.err != nil || r.scoped != nil:
		case in.Action != nil && in.Action.EventID != "" && events[in.Action.EventID]:
			repeats[i] = "an earlier record of the batch is the same lifecycle event"
		case in.Action != nil:
			events[in.Action.EventID] = true
			b.Starts = append(b.Starts, drain.Start{Action: *in.Action, Meta: r.meta})
		case in.Message != nil:
			b.Hops = append(b.Hops, *in.Message)
		case in.ECS != nil && named[in.ECS.ContainerInstanceARN]:
			repeats[i] = "an earlier ECS event of the batch names the same container instance"
		case in.ECS != nil:
			named[in.ECS.ContainerInstanceARN] = true
			b.Events = append(b.Events, *in.ECS)
		}
	}
	return h.d.Prefetch(ctx, b), repeats
}

// parallelRecords is how many of a batch's records run at once. Each hop
// mostly waits on AWS; run together, the hops that reach the same write at
// about the same time share one call (drain.CoalescingECS), up to 10.
const parallelRecords = 10

func (h *Handler) batch(ctx context.Context, batch events.SQSEvent) events.SQSEventResponse {
	recs := make([]record, len(batch.Records))
	for i, m := range batch.Records {
		recs[i] = h.parse(m.MessageId, []byte(m.Body))
	}
	round, repeats := h.prefetch(ctx, recs)
	failed := make([]bool, len(recs))
	var wg sync.WaitGroup
	slots := make(chan struct{}, parallelRecords)
	for i, r := range recs {
		if why, ok := repeats[i]; ok {
			// If the earlier record fails, it is retried and looks
			// again; this one adds nothing.
			h.logLine(ctx, slog.LevelInfo, "record ignored", drainAttrs("", "", "", ""),
				slog.String(keyRequestID, requestID(ctx)), slog.String(keyMessageID, r.id), slog.String(keyReason, why))
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			failed[i] = h.batchRecord(ctx, round, r, batch.Records[i].Body) != nil
		}()
	}
	wg.Wait()
	var resp events.SQSEventResponse
	for i, r := range recs {
		if failed[i] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.id})
		}
	}
	return resp
}

// batchRecord handles one record of a batch, or sends its body back to the
// queue when the invocation has too little time left to start it.
func (h *Handler) batchRecord(ctx context.Context, round Round, r record, body string) error {
	rid := slog.String(keyRequestID, requestID(ctx))
	mid := slog.String(keyMessageID, r.id)
	// Invocation deadlines are wall-clock times, whatever clock the
	// drains read.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < minBudget {
		err := h.d.Resend(ctx, r.resendable(body))
		if err == nil {
			h.log.Warn("invocation budget too short: record sent back to the queue", rid, mid, slog.Duration("budget_left", time.Until(deadline)))
		}
		return err
	}
	return h.record(ctx, round, r, rid, mid)
}

// resendable is the body to send back for r: unchanged, but for a re-queue
// message of an earlier build, which has no id of its own and is named in
// the chain mark by its SQS message id, which the copy would lose.
func (r record) resendable(body string) string {
	if r.err != nil || r.in.Message == nil || r.in.Message.ID != "" {
		return body
	}
	m := *r.in.Message
	m.ID = r.id
	if b, err := m.Encode(); err == nil {
		return string(b)
	}
	return body
}

// record handles one record and logs its outcome. A non-nil error means the
// record must be retried or, if it can never succeed, reach the DLQ.
func (h *Handler) record(ctx context.Context, round Round, r record, attrs ...slog.Attr) error {
	in := r.in
	switch {
	case r.err != nil:
		h.logLine(ctx, slog.LevelError, "record can never be processed: reported failed for the DLQ", drainAttrs("", "", "", ""),
			append(attrs, slog.String(keyReason, r.err.Error()))...)
		return r.err
	case in.Ignored != "":
		h.logLine(ctx, slog.LevelInfo, "record ignored", drainAttrs("", "", "", ""), append(attrs, slog.String(keyReason, in.Ignored))...)
		return nil
	case in.Message != nil:
		m := *in.Message
		if r.scoped != nil {
			h.logLine(ctx, slog.LevelInfo, "record ignored", drainAttrs(m.Cluster, m.GroupName, m.HookName, m.InstanceID), append(attrs, slog.String(keyReason, r.scoped.Error()))...)
			return nil
		}
		res, err := round.Continue(ctx, m, r.id)
		return h.outcome(ctx, m, res, err, attrs, noLag)
	case in.Reconcile:
		return h.reconcile(ctx, attrs)
	case in.ECS != nil:
		return h.settle(ctx, round, *in.ECS, attrs)
	case in.ServiceAction != nil:
		return h.placement(ctx, round, *in.ServiceAction, attrs)
	}
	a := *in.Action
	recordID := r.id
	if recordID == "" {
		recordID = a.EventID
	}
	attrs = append(attrs, slog.String(keyEventID, a.EventID))
	where := drainAttrs("", a.GroupName, a.HookName, a.InstanceID)
	if drain.IsSkip(r.scoped) {
		h.logLine(ctx, slog.LevelInfo, "record ignored", where, append(attrs, slog.String(keyReason, r.scoped.Error()))...)
		return nil
	}
	if r.scoped != nil {
		h.logLine(ctx, slog.LevelError, "record can never be processed: reported failed for the DLQ", where, append(attrs, slog.String(keyReason, r.scoped.Error()))...)
		return r.scoped
	}
	res, err := round.Start(ctx, a, r.meta, recordID)
	return h.outcome(ctx, res.State, res, err, attrs, noLag)
}

// reconcile restarts the drains that no live chain carries: instances that
// wait on one of the drainer's hooks in DRAINER_ASGS with no chain mark, or
// an overdue one (the chain's message dead-lettered or lost, a deploy in the
// middle of a drain), and looks at launches that have waited long. Each restart goes to the queue as a lifecycle event,
// so the event source runs them in parallel and this sweep stays short. A
// group or cluster that could not be read does not stop the others' restarts;
// the sweep then fails, after them.
func (h *Handler) reconcile(ctx context.Context, attrs []slog.Attr) error {
	where := drainAttrs("", "", "", "")
	if len(h.cfg.ASGs) == 0 {
		h.logLine(ctx, slog.LevelError, "reconcile skipped: DRAINER_ASGS names no group to sweep", where, attrs...)
		return nil
	}
	sw, sweepErr := h.d.Lost(ctx, h.cfg)
	lost := sw.Lost
	if sweepErr != nil {
		class := drain.Classify(sweepErr)
		h.logLine(ctx, slog.LevelWarn, "reconcile could not read every group: the others are swept", where,
			append(attrs, slog.String(keyErrorClass, class.String()), slog.String(keyError, sweepErr.Error()))...)
	}
	h.logLine(ctx, slog.LevelInfo, "reconcile", where, append(attrs, slog.Int(keyLost, len(lost)))...)
	h.gauges(ctx, sw.Gauges, attrs)
	for _, p := range lost {
		a := p.Action
		eventID := "ecs-drainer-reconcile-" + awsRequestIDOr(ctx, "local") + "-" + a.InstanceID
		if err := h.d.Restart(ctx, p, eventID); err != nil {
			h.logLine(ctx, slog.LevelWarn, "reconcile could not restart a lost drain: the next sweep retries", drainAttrs(p.Meta.Cluster, a.GroupName, a.HookName, a.InstanceID),
				append(attrs, slog.String(keyError, err.Error()))...)
			return err
		}
		level, msg := slog.LevelWarn, "lost drain restarted"
		if a.Launch() {
			// Routine for a slow launch: its chain may be alive.
			level, msg = slog.LevelInfo, "launch waiting long: the sweep looks at it"
		}
		h.logLine(ctx, level, msg, drainAttrs(p.Meta.Cluster, a.GroupName, a.HookName, a.InstanceID),
			append(attrs, slog.String(keyEventID, eventID), slog.Int(keyDelay, int(drain.RestartGrace/time.Second)))...)
	}
	return sweepErr
}

// settle handles an ECS event: the drain of its container instance may be
// over, and is then completed without waiting for its chain's next poll.
func (h *Handler) settle(ctx context.Context, round Round, e lifecycle.ECSEvent, attrs []slog.Attr) error {
	attrs = append(attrs, slog.String(keyEventID, e.EventID), slog.String(keyDetailType, e.DetailType))
	res, err := round.Settle(ctx, e, h.cfg)
	lag := noLag
	if err == nil && res.Outcome == drain.OutcomeDrained && !e.StoppedAt.IsZero() {
		// How long after the task stopped its instance was released: the
		// lag event-driven completion exists to cut.
		lag = max(0, h.now().Sub(e.StoppedAt))
		attrs = append(attrs, slog.Float64(keyLag, lag.Seconds()))
	}
	s := res.State
	if s.Cluster == "" {
		s.Cluster = e.Cluster()
	}
	return h.outcome(ctx, s, res, err, attrs, lag)
}

// placement handles a service's task placement failure: each drain whose
// tasks of that service cannot move says so now, in words, without waiting
// for its chain's next look. A failed read fails the record, which is
// retried.
func (h *Handler) placement(ctx context.Context, round Round, e lifecycle.ServiceAction, attrs []slog.Attr) error {
	attrs = append(attrs, slog.String(keyEventID, e.EventID), slog.String(keyDetailType, contract.DetailTypeServiceAction),
		slog.String(keyService, e.Service()), slog.String(keyReason, e.Reason))
	placed, err := round.Placement(ctx, e, h.cfg)
	if err != nil {
		h.logLine(ctx, slog.LevelWarn, "service placement failure: the drains it concerns could not be read: record reported failed", drainAttrs(e.Cluster(), "", "", ""),
			append(attrs, slog.String(keyErrorClass, drain.Classify(err).String()), slog.String(keyError, err.Error()))...)
		return err
	}
	if len(placed) == 0 {
		h.logLine(ctx, slog.LevelInfo, "service placement failure: no drain of ours waits for this service", drainAttrs(e.Cluster(), "", "", ""), attrs...)
		return nil
	}
	for _, p := range placed {
		h.logLine(ctx, slog.LevelWarn, "drain diagnosis: ECS could not place a replacement", drainAttrs(p.Cluster, p.Group, p.Hook, p.InstanceID),
			append(attrs, slog.Any(keyTasks, findingList(p.Findings)), slog.Any(keyUnblock, diagnose.Explain(p.Findings, 0)))...)
	}
	return nil
}

func awsRequestIDOr(ctx context.Context, fallback string) string {
	if id := requestID(ctx); id != "" {
		return id
	}
	return fallback
}

// noLag says a hop does not know when its drain's last task stopped.
const noLag = time.Duration(-1)

// outcome logs how a record's hop ended, with its metrics, and keeps its
// drain events for the end of the invocation. lag is how long after the
// drain's last task stopped the hop completed it, or noLag.
func (h *Handler) outcome(ctx context.Context, s drain.State, res drain.Result, err error, attrs []slog.Attr, lag time.Duration) error {
	where := drainAttrs(s.Cluster, s.GroupName, s.HookName, s.InstanceID)
	attrs = append(attrs,
		slog.String(keyContainerInstance, res.State.ContainerInstanceARN),
		slog.Int(keyAttempt, res.Attempt),
		slog.Bool(keyHeartbeat, res.Heartbeat),
	)
	attrs = append(attrs, taskCounts(res)...)
	if len(res.Notes) > 0 {
		attrs = append(attrs, slog.Any(keyNotes, res.Notes))
	}
	if err != nil {
		class := drain.Classify(err)
		level := slog.LevelWarn
		if class == drain.Terminal {
			level = slog.LevelError
		}
		h.logLine(ctx, level, "drain step failed: record reported failed", where,
			append(attrs, slog.String(keyErrorClass, class.String()), slog.String(keyError, err.Error()))...)
		return err
	}
	h.warnings(ctx, where, res, attrs)
	h.diagnosis(ctx, where, res, attrs)
	attrs = append(attrs, slog.String(keyOutcome, string(res.Outcome)))
	if res.ActionResult != "" {
		attrs = append(attrs, slog.String(keyResult, res.ActionResult))
	}
	if res.State.Launch {
		h.launchOutcome(ctx, s, res, where, append(attrs, h.launchMetrics(s, res)...))
		return nil
	}
	if !s.Start.IsZero() {
		attrs = append(attrs, slog.Float64(keyDrainSeconds, h.now().Sub(s.Start).Seconds()))
	}
	announce(ctx, h.drainEvents(s, res))
	attrs = append(attrs, h.drainMetrics(s, res, lag)...)
	switch res.Outcome {
	case drain.OutcomeRequeued:
		msg, level := "tasks left: drain re-queued", slog.LevelInfo
		if !res.State.TasksStoppedAt.IsZero() {
			msg, level = "drain deadline reached: tasks left were stopped, waiting for them to reach STOPPED", slog.LevelWarn
			attrs = append(attrs, slog.Any(keyTasks, taskList(res.Tasks)))
		}
		h.logLine(ctx, level, msg, where, append(attrs, slog.Int(keyDelay, int(res.Delay/time.Second)))...)
	case drain.OutcomeDeadline:
		h.logLine(ctx, slog.LevelWarn, "drain deadline reached with tasks still on the instance: lifecycle action completed with CONTINUE", where,
			append(attrs, slog.Any(keyTasks, taskList(res.Tasks)))...)
	case drain.OutcomeAbandoned:
		h.logLine(ctx, slog.LevelWarn, "drain deadline reached with tasks still on the instance: lifecycle action completed with ABANDON", where,
			append(attrs, slog.Any(keyTasks, taskList(res.Tasks)))...)
	case drain.OutcomeAgentDisconnected:
		h.logLine(ctx, slog.LevelWarn, "ECS agent disconnected for DRAINER_DISCONNECTED_AFTER with tasks still on the instance: the timeout policy applied early", where,
			append(attrs, slog.Any(keyTasks, taskList(res.Tasks)))...)
	case drain.OutcomeStuck:
		h.logLine(ctx, slog.LevelWarn, "every task left blocked for DRAINER_STUCK_AFTER: the timeout policy applied early", where,
			append(attrs, slog.Any(keyTasks, taskList(res.Tasks)), slog.String(keyDiagnosis, res.State.Diagnosis))...)
	default:
		h.logLine(ctx, slog.LevelInfo, "drain finished", where, attrs...)
	}
	return nil
}

// launchOutcome logs how a launch gate's hop ended: a launch let in or
// waiting is INFO, one given up on (abandoned, or let in without its
// daemons) is WARN and names what was missing.
func (h *Handler) launchOutcome(ctx context.Context, s drain.State, res drain.Result, where, attrs []slog.Attr) {
	if !s.Start.IsZero() {
		attrs = append(attrs, slog.Float64(keyLaunchSeconds, h.now().Sub(s.Start).Seconds()))
	}
	waiting := slog.String(keyWaitingFor, res.Waiting)
	switch res.Outcome {
	case drain.OutcomeRequeued:
		h.logLine(ctx, slog.LevelInfo, "launch gate waiting: re-queued", where, append(attrs, waiting, slog.Int(keyDelay, int(res.Delay/time.Second)))...)
	case drain.OutcomeLaunchReady:
		h.logLine(ctx, slog.LevelInfo, "launch gate open: ECS can place tasks on the instance, lifecycle action completed with CONTINUE", where, attrs...)
	case drain.OutcomeLaunchIntoWarmPool:
		h.logLine(ctx, slog.LevelInfo, "launch into the warm pool: completed with CONTINUE at once; the gate waits when the instance leaves the pool", where, attrs...)
	case drain.OutcomeLaunchFailed:
		h.logLine(ctx, slog.LevelWarn, "ECS reports the container instance REGISTRATION_FAILED: launch completed with ABANDON, Auto Scaling replaces the instance", where,
			append(attrs, slog.String(keyStatusReason, res.Instance.StatusReason))...)
	case drain.OutcomeLaunchDeadline:
		h.logLine(ctx, slog.LevelWarn, "instance not usable by ECS within DRAINER_MAX_LAUNCH: launch completed with ABANDON, Auto Scaling replaces the instance", where,
			append(attrs, waiting)...)
	case drain.OutcomeLaunchWithoutDaemons:
		h.logLine(ctx, slog.LevelWarn, "DRAINER_MAX_LAUNCH reached with daemon services not running on the instance: launch completed with CONTINUE anyway", where,
			append(attrs, waiting)...)
	case drain.OutcomeLaunchWaiting:
		h.logLine(ctx, slog.LevelInfo, "launch gate event: instance not ready yet, its chain polls again", where, append(attrs, waiting)...)
	default:
		h.logLine(ctx, slog.LevelInfo, "launch gate finished", where, attrs...)
	}
}

// diagnosis logs a drain's diagnosis when it changed: the tasks left by
// service and reason, and what would unblock them. WARN when a task is
// blocked (it will not leave until someone acts), else INFO.
func (h *Handler) diagnosis(ctx context.Context, where []slog.Attr, res drain.Result, attrs []slog.Attr) {
	if !res.DiagnosisChanged || len(res.Findings) == 0 {
		return
	}
	level := slog.LevelInfo
	byReason := map[string]int{}
	for _, f := range res.Findings {
		byReason[f.Reason]++
		if contract.Blocking(f.Reason) {
			level = slog.LevelWarn
		}
	}
	h.logLine(ctx, level, "drain diagnosis changed", where, append(attrs,
		slog.Any(keyReasons, byReason), slog.Any(keyTasks, findingList(res.Findings)),
		slog.Any(keyUnblock, diagnose.Explain(res.Findings, res.State.Launching)))...)
}

type loggedFinding struct {
	ARN      string `json:"arn"`
	Service  string `json:"service,omitempty"`
	Reason   string `json:"reason"`
	Resource string `json:"resource,omitempty"`
}

func findingList(fs []diagnose.Finding) []loggedFinding {
	out := make([]loggedFinding, len(fs))
	for i, f := range fs {
		out[i] = loggedFinding{ARN: f.Task, Service: f.Service, Reason: f.Reason, Resource: f.Resource}
	}
	return out
}

// warnings logs, once per drain, what the drainer cannot fix but an
// operator should know: the first hop's other terminate hooks on the group
// (two drainers of one instance are the most common migration mistake), and
// an instance that cannot carry the chain mark.
func (h *Handler) warnings(ctx context.Context, where []slog.Attr, res drain.Result, attrs []slog.Attr) {
	if others := res.State.OtherHooks; res.Attempt == 1 && len(others) > 0 && res.Outcome != drain.OutcomeSuperseded && res.Outcome != drain.OutcomeActionGone {
		h.logLine(ctx, slog.LevelWarn, "the group has other terminate lifecycle hooks: Auto Scaling terminates the instance only once their actions have ended too", where,
			append(attrs, slog.Any(keyOtherHooks, others))...)
	}
	if res.Unmarkable {
		h.logLine(ctx, slog.LevelWarn, "the container instance already has the 10 custom attributes ECS allows, so it cannot carry the drain's chain mark: ECS events cannot end this drain early and the reconciler cannot restart it; it completes by polling", where, attrs...)
	}
}

func (h *Handler) logLine(ctx context.Context, level slog.Level, msg string, where []slog.Attr, attrs ...slog.Attr) {
	h.log.LogAttrs(ctx, level, msg, append(where, attrs...)...)
}

// drainAttrs are the keys every line carries, empty where not known, so a
// query on any of them never misses a line because the key was absent.
func drainAttrs(cluster, asg, hook, instance string) []slog.Attr {
	return []slog.Attr{
		slog.String(keyCluster, cluster), slog.String(keyASG, asg),
		slog.String(keyHook, hook), slog.String(keyInstanceID, instance),
	}
}

// taskCounts counts the tasks the hop listed. A hop that found the instance
// busy did not list them: then ECS's own counts stand in (runningTasksCount
// counts the tasks desired RUNNING), and the tasks told to stop, which only a
// listing shows, are not counted.
func taskCounts(res drain.Result) []slog.Attr {
	if in := res.Instance; len(res.Tasks) == 0 && in != nil && in.Busy {
		return []slog.Attr{slog.Int(keyRunningTasks, in.Running), slog.Int(keyPendingTasks, in.Pending)}
	}
	var running, pending, stopping int
	for _, t := range res.Tasks {
		switch {
		case t.DesiredStatus == "STOPPED":
			stopping++
		case t.LastStatus == "RUNNING":
			running++
		default:
			pending++
		}
	}
	return []slog.Attr{slog.Int(keyRunningTasks, running), slog.Int(keyPendingTasks, pending), slog.Int(keyStoppingTasks, stopping)}
}

type loggedTask struct {
	ARN           string `json:"arn"`
	Group         string `json:"group"`
	LastStatus    string `json:"last_status"`
	DesiredStatus string `json:"desired_status"`
	Why           string `json:"why"`
}

func taskList(tasks []drain.Task) []loggedTask {
	out := make([]loggedTask, len(tasks))
	for i, t := range tasks {
		out[i] = loggedTask{ARN: t.ARN, Group: t.Group, LastStatus: t.LastStatus, DesiredStatus: t.DesiredStatus, Why: t.Why()}
	}
	return out
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
