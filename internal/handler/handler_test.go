package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-drainer/ecs-drainer/internal/drain"
	"github.com/ecs-drainer/ecs-drainer/internal/lifecycle"
)

var t0 = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

type startCall struct {
	instance, cluster string
}

// fakeDrainer records what the handler asks of the drain and answers with
// fixed results.
type fakeDrainer struct {
	mu        sync.Mutex // a batch's records run concurrently
	starts    []startCall
	continues []drain.State
	resent    []string
	startRes  drain.Result
	startErr  error
	// startOthers are the other terminate hooks a first hop finds.
	startOthers []string
	waiting     []drain.Pending
	gauges      []drain.Gauge
	lostErr     error // what Lost returns beside waiting
	restarts    []string
	// prefetched and prefetchedEvents are the number of drains and of ECS
	// events of each batch's Prefetch; settled the ids of the events
	// settled.
	prefetched, prefetchedStarts, prefetchedEvents []int
	settled                                        []string
}

func (f *fakeDrainer) Start(_ context.Context, a lifecycle.Action, meta lifecycle.HookMetadata, _ string) (drain.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cluster := meta.Cluster
	f.starts = append(f.starts, startCall{a.InstanceID, cluster})
	res := f.startRes
	res.Attempt = 1
	res.State = drain.State{Cluster: cluster, GroupName: a.GroupName, HookName: a.HookName, InstanceID: a.InstanceID, Start: a.Time, Attempt: 1, OtherHooks: f.startOthers}
	return res, f.startErr
}

func (f *fakeDrainer) Prefetch(_ context.Context, b drain.Batch) Round {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefetched = append(f.prefetched, len(b.Hops))
	f.prefetchedStarts = append(f.prefetchedStarts, len(b.Starts))
	f.prefetchedEvents = append(f.prefetchedEvents, len(b.Events))
	return f
}

func (f *fakeDrainer) Continue(_ context.Context, s drain.State, _ string) (drain.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.continues = append(f.continues, s)
	return drain.Result{Outcome: drain.OutcomeDrained, Attempt: s.Attempt, State: s}, nil
}

func (f *fakeDrainer) Lost(context.Context, drain.Scope) (drain.Sweep, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return drain.Sweep{Lost: f.waiting, Gauges: f.gauges}, f.lostErr
}

func (f *fakeDrainer) Restart(_ context.Context, p drain.Pending, eventID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarts = append(f.restarts, p.Action.InstanceID+" "+eventID)
	return nil
}

func (f *fakeDrainer) Settle(_ context.Context, e lifecycle.ECSEvent, _ drain.Scope) (drain.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settled = append(f.settled, e.EventID)
	return drain.Result{Outcome: drain.OutcomeNotDraining}, nil
}

func (f *fakeDrainer) Placement(context.Context, lifecycle.ServiceAction, drain.Scope) ([]drain.Placed, error) {
	return nil, nil
}

func (f *fakeDrainer) Resend(_ context.Context, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resent = append(f.resent, body)
	return nil
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../lifecycle/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newTestHandler(d Drainer, cfg Config) (*Handler, *bytes.Buffer) {
	var logs bytes.Buffer
	return newHandler(d, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), func() time.Time { return t0 }, Observers{}), &logs
}

func sqsEvent(bodies ...string) json.RawMessage {
	var e events.SQSEvent
	for i, b := range bodies {
		e.Records = append(e.Records, events.SQSMessage{MessageId: string(rune('a' + i)), Body: b, EventSource: "aws:sqs"})
	}
	raw, _ := json.Marshal(e)
	return raw
}

func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// One bad record must never make the good ones run again: only records that
// failed are reported, and records that need no work are acknowledged.
func TestBatchReportsOnlyFailedRecords(t *testing.T) {
	msg, err := drain.State{Cluster: "c1", GroupName: "asg", HookName: "hook", InstanceID: "i-0123456789abcdef0",
		Start: t0, Deadline: t0.Add(time.Hour), HeartbeatTimeoutSeconds: 300, Attempt: 2}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDrainer{startRes: drain.Result{Outcome: drain.OutcomeRequeued}}
	h, logs := newTestHandler(d, Config{})
	out, err := h.Invoke(context.Background(), sqsEvent(
		testdata(t, "terminate-action.json"),  // a: started
		"not json",                            // b: can never succeed
		testdata(t, "spot-interruption.json"), // c: ignored by design
		string(msg),                           // d: continued
	))
	if err != nil {
		t.Fatalf("Invoke error: %v", err)
	}
	want := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "b"}}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Fatalf("response mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]startCall{{"i-1234567890abcdef0", "my-cluster"}}, d.starts, cmp.AllowUnexported(startCall{})); diff != "" {
		t.Errorf("starts mismatch (-want +got):\n%s", diff)
	}
	if len(d.continues) != 1 || d.continues[0].Attempt != 2 {
		t.Errorf("continues = %+v, want the one re-queue message", d.continues)
	}
	lines := logLines(t, logs)
	if len(lines) != 4 {
		t.Fatalf("logged %d lines, want one per record (4):\n%s", len(lines), logs)
	}
	for _, l := range lines {
		for _, k := range []string{keyCluster, keyASG, keyHook, keyInstanceID, keyRequestID} {
			if _, ok := l[k]; !ok {
				t.Errorf("log line %v lacks key %q", l, k)
			}
		}
	}
	// The records run concurrently: the lines come in any order.
	i := slices.IndexFunc(lines, func(l map[string]any) bool { return l[keyMessageID] == "b" })
	if i < 0 || lines[i]["level"] != "ERROR" || !strings.Contains(lines[i][keyReason].(string), "not a JSON object") {
		t.Errorf("bad record logged as %v, want ERROR with its reason", lines)
	}
}

// A failed drain step (here throttling that outlived the SDK's retries)
// fails only its own record, and the log says whether it will be retried.
func TestFailedStepFailsItsRecord(t *testing.T) {
	d := &fakeDrainer{startErr: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}}
	h, logs := newTestHandler(d, Config{})
	out, _ := h.Invoke(context.Background(), sqsEvent(testdata(t, "terminate-action.json")))
	if got := len(out.(events.SQSEventResponse).BatchItemFailures); got != 1 {
		t.Fatalf("batch item failures = %d, want 1", got)
	}
	l := logLines(t, logs)[0]
	if l[keyErrorClass] != "retryable" || l["level"] != "WARN" {
		t.Fatalf("log line = %v, want a WARN with error_class retryable", l)
	}
}

func TestClusterResolution(t *testing.T) {
	noMetadata := testdata(t, "terminate-action-no-metadata.json")
	tests := []struct {
		name        string
		body        string
		cfg         Config
		wantCluster string // "" = not started
		wantErr     bool
	}{
		{"metadata names the cluster", testdata(t, "terminate-action.json"), Config{Cluster: "fallback"}, "my-cluster", false},
		{"DRAINER_CLUSTER when the hook has no metadata", noMetadata, Config{Cluster: "fallback"}, "fallback", false},
		{"no cluster anywhere is an error for the DLQ", noMetadata, Config{}, "", true},
		{"a listed hook's unreadable metadata is an error, not a guess", strings.Replace(testdata(t, "terminate-action.json"), `"{\"cluster\":\"my-cluster\"}"`, `"cluster=x"`, 1),
			Config{Cluster: "fallback", Hooks: []string{"my-lifecycle-hook"}}, "", true},
		{"a listed hook's broken JSON metadata is an error, not a guess", strings.Replace(testdata(t, "terminate-action.json"), `"{\"cluster\":\"my-cluster\"}"`, `"{\"cluster\":"`, 1),
			Config{Cluster: "fallback"}, "", true},
		// AWS's own sample event carries plain-text metadata: another
		// team's hook, which must not reach the DLQ on every scale-in.
		{"another hook's plain-text metadata is ignored when DRAINER_HOOKS is unset", testdata(t, "terminate-action-other-hook.json"), Config{Cluster: "fallback"}, "", false},
		{"a hook outside DRAINER_HOOKS is ignored, DRAINER_CLUSTER notwithstanding", noMetadata, Config{Cluster: "c", Hooks: []string{"ecs-drainer"}}, "", false},
		{"DRAINER_CLUSTER stands in for a listed hook", noMetadata, Config{Cluster: "c", Hooks: []string{"ecs-drainer", "my-lifecycle-hook"}}, "c", false},
		{"an ASG outside DRAINER_ASGS is ignored", noMetadata, Config{Cluster: "c", ASGs: []string{"other-asg"}}, "", false},
		{"an ASG inside DRAINER_ASGS is drained", noMetadata, Config{Cluster: "c", ASGs: []string{"other-asg", "my-asg"}}, "c", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDrainer{startRes: drain.Result{Outcome: drain.OutcomeRequeued}}
			h, _ := newTestHandler(d, tt.cfg)
			_, err := h.Invoke(context.Background(), json.RawMessage(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Invoke error = %v, want error %v", err, tt.wantErr)
			}
			var got string
			if len(d.starts) > 0 {
				got = d.starts[0].cluster
			}
			if got != tt.wantCluster {
				t.Fatalf("started on cluster %q, want %q", got, tt.wantCluster)
			}
		})
	}
}

// A drain released at its deadline must say so loudly: WARN, with every task
// that was still there.
func TestDeadlineIsLoggedLoudlyWithTheTasksLeft(t *testing.T) {
	d := &fakeDrainer{startRes: drain.Result{Outcome: drain.OutcomeDeadline, Tasks: []drain.Task{
		{ARN: "arn:task/1", Group: "family:batch", LastStatus: "RUNNING", DesiredStatus: "RUNNING"},
	}}}
	h, logs := newTestHandler(d, Config{})
	if _, err := h.Invoke(context.Background(), json.RawMessage(testdata(t, "terminate-action.json"))); err != nil {
		t.Fatal(err)
	}
	l := logLines(t, logs)[0]
	if l["level"] != "WARN" || l[keyOutcome] != "deadline_reached" || l[keyRunningTasks] != 1.0 {
		t.Fatalf("log line = %v, want WARN deadline_reached with running_tasks 1", l)
	}
	tasks, _ := json.Marshal(l[keyTasks])
	if !strings.Contains(string(tasks), "arn:task/1") {
		t.Fatalf("log line tasks = %s, want the task left", tasks)
	}
}

// With too little of the invocation left, a record is sent back unchanged and
// acknowledged, instead of being cut off mid-drain by the function timeout.
func TestShortBudgetSendsRecordsBack(t *testing.T) {
	d := &fakeDrainer{}
	h, _ := newTestHandler(d, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	body := testdata(t, "terminate-action.json")
	out, err := h.Invoke(ctx, sqsEvent(body))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.(events.SQSEventResponse).BatchItemFailures); n != 0 || len(d.starts) != 0 {
		t.Fatalf("failures = %d, starts = %d; want the record sent back, not started or failed", n, len(d.starts))
	}
	if diff := cmp.Diff([]string{body}, d.resent); diff != "" {
		t.Fatalf("resent mismatch (-want +got):\n%s", diff)
	}
}

// The attempt logged is the hop the record was: 1 for the event, and the
// message's own attempt for a re-queued hop, not the next hop's number.
func TestLogsTheAttemptOfTheHop(t *testing.T) {
	d := &fakeDrainer{startRes: drain.Result{Outcome: drain.OutcomeRequeued}}
	h, logs := newTestHandler(d, Config{})
	if _, err := h.Invoke(context.Background(), json.RawMessage(testdata(t, "terminate-action.json"))); err != nil {
		t.Fatal(err)
	}
	if got := logLines(t, logs)[0][keyAttempt]; got != 1.0 {
		t.Fatalf("attempt logged for the first hop = %v, want 1", got)
	}
}

// The reconciler's tick restarts every lost drain the sweep finds, through
// the queue, and logs the sweep; without DRAINER_ASGS it has nothing to
// sweep and says so.
func TestReconcileRestartsEveryLostDrain(t *testing.T) {
	d := &fakeDrainer{waiting: []drain.Pending{
		{Action: lifecycle.Action{InstanceID: "i-0123456789abcdef0", GroupName: "asg"}, Meta: lifecycle.HookMetadata{Cluster: "c1"}},
		{Action: lifecycle.Action{InstanceID: "i-0123456789abcdef1", GroupName: "asg"}, Meta: lifecycle.HookMetadata{Cluster: "c1"}},
	}}
	h, logs := newTestHandler(d, Config{ASGs: []string{"asg"}})
	if _, err := h.Invoke(context.Background(), json.RawMessage(testdata(t, "scheduled-event.json"))); err != nil {
		t.Fatal(err)
	}
	want := []string{"i-0123456789abcdef0 ecs-drainer-reconcile-local-i-0123456789abcdef0", "i-0123456789abcdef1 ecs-drainer-reconcile-local-i-0123456789abcdef1"}
	if diff := cmp.Diff(want, d.restarts); diff != "" {
		t.Errorf("restarts mismatch (-want +got):\n%s", diff)
	}
	if len(d.starts) != 0 {
		t.Errorf("the sweep drained %d instances itself, want it to leave that to the queue", len(d.starts))
	}
	if lines := logLines(t, logs); len(lines) != 3 || lines[0][keyLost] != 2.0 {
		t.Errorf("logged %v, want the sweep (2 lost) and one line per restart", lines)
	}

	d = &fakeDrainer{}
	h, logs = newTestHandler(d, Config{})
	if _, err := h.Invoke(context.Background(), json.RawMessage(testdata(t, "scheduled-event.json"))); err != nil {
		t.Fatal(err)
	}
	if l := logLines(t, logs)[0]; l["level"] != "ERROR" || !strings.Contains(l["msg"].(string), "DRAINER_ASGS") {
		t.Errorf("without DRAINER_ASGS logged %v, want an ERROR naming DRAINER_ASGS", l)
	}
}

// The re-queue messages of one batch must share one prefetch, or each hop
// pays its own describe calls; lifecycle events and bad records take no part.
func TestBatchPrefetchesItsRequeueMessagesOnce(t *testing.T) {
	d := &fakeDrainer{}
	h, _ := newTestHandler(d, Config{})
	msg := func(id string) string {
		b, err := drain.State{Cluster: "c1", GroupName: "asg", HookName: "hook", InstanceID: id, Start: time.Unix(1, 0), Deadline: time.Unix(2, 0),
			HeartbeatTimeoutSeconds: 300, Attempt: 2}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if _, err := h.Invoke(context.Background(), sqsEvent(msg("i-0123456789abcdef0"), testdata(t, "terminate-action.json"), "not json", msg("i-0123456789abcdef1"))); err != nil {
		t.Fatal(err)
	}
	if len(d.prefetched) != 1 || d.prefetched[0] != 2 || len(d.continues) != 2 {
		t.Errorf("prefetches %v, hops %d; want one prefetch of the 2 messages, then 2 hops", d.prefetched, len(d.continues))
	}
}

// An ECS event batch must share one prefetch, and an event naming a container
// instance an earlier event of the batch named must not be settled again
// (nor reported failed): one look answers for both.
func TestBatchSettlesEachContainerInstanceOnce(t *testing.T) {
	d := &fakeDrainer{}
	h, _ := newTestHandler(d, Config{})
	stopped := testdata(t, "ecs-task-stopped.json")
	again := strings.Replace(stopped, `"id": "`, `"id": "again-`, 1)
	other := strings.Replace(strings.Replace(stopped, `"id": "`, `"id": "other-`, 1), "b54a2a04046f43319d743f6d7f6ca315", "0000000000000000000000000000abcd", 1)
	out, err := h.Invoke(context.Background(), sqsEvent(stopped, again, other))
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures %v, want none", resp.BatchItemFailures)
	}
	if len(d.prefetchedEvents) != 1 || d.prefetchedEvents[0] != 2 {
		t.Errorf("prefetched events %v, want one prefetch of the 2 distinct instances", d.prefetchedEvents)
	}
	slices.Sort(d.settled)
	if want := []string{"3317b2af-7005-947d-b652-f55e762e571a", "other-3317b2af-7005-947d-b652-f55e762e571a"}; !slices.Equal(d.settled, want) {
		t.Errorf("settled %v, want %v: the first event of each instance", d.settled, want)
	}
}

// A re-queue message of a hook or group outside the scope (the configuration
// changed since the drain started) is logged and ignored: no AWS write, the
// record succeeds.
func TestAMessageOutsideTheScopeIsIgnored(t *testing.T) {
	msg, err := drain.State{Cluster: "c1", GroupName: "asg", HookName: "legacy-drainer", InstanceID: "i-0123456789abcdef0",
		Start: t0, Deadline: t0.Add(time.Hour), HeartbeatTimeoutSeconds: 300, Attempt: 2}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDrainer{}
	h, logs := newTestHandler(d, Config{Hooks: []string{"ecs-drainer"}})
	out, err := h.Invoke(context.Background(), sqsEvent(string(msg)))
	if err != nil || len(out.(events.SQSEventResponse).BatchItemFailures) != 0 {
		t.Fatalf("Invoke = %+v, %v; want the record to succeed", out, err)
	}
	if len(d.continues) != 0 {
		t.Errorf("continued %d drains of another hook", len(d.continues))
	}
	l := logLines(t, logs)[0]
	if l["msg"] != "record ignored" || !strings.Contains(l[keyReason].(string), "DRAINER_HOOKS") {
		t.Errorf("log line %v, want the record ignored for DRAINER_HOOKS", l)
	}
}

// The first hop of a group with other terminate hooks warns once, naming
// them: Auto Scaling terminates the instance only when they end too.
func TestTheFirstHopWarnsOfOtherHooks(t *testing.T) {
	d := &fakeDrainer{startRes: drain.Result{Outcome: drain.OutcomeRequeued}}
	d.startOthers = []string{"ecs-managed-draining-termination-hook"}
	h, logs := newTestHandler(d, Config{})
	if _, err := h.Invoke(context.Background(), json.RawMessage(testdata(t, "terminate-action.json"))); err != nil {
		t.Fatal(err)
	}
	var warned int
	for _, l := range logLines(t, logs) {
		if l["level"] == "WARN" && l[keyOtherHooks] != nil {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%d warnings naming other hooks, want 1:\n%s", warned, logs)
	}
}

// A sweep that cannot read one group still restarts the lost drains it found
// in the others, then reports the failure.
func TestASweepRestartsWhatItFoundDespiteAnError(t *testing.T) {
	d := &fakeDrainer{waiting: []drain.Pending{{Action: lifecycle.Action{GroupName: "asg-a", HookName: "h", InstanceID: "i-0123456789abcdef0"}}},
		lostErr: errors.New("describing lifecycle hooks of asg-b: AccessDenied")}
	h, logs := newTestHandler(d, Config{ASGs: []string{"asg-a", "asg-b"}})
	_, err := h.Invoke(context.Background(), json.RawMessage(testdata(t, "scheduled-event.json")))
	if err == nil {
		t.Error("the sweep succeeded, want its error reported")
	}
	if len(d.restarts) != 1 {
		t.Errorf("%d restarts, want the one found in asg-a\n%s", len(d.restarts), logs)
	}
}

// A hop that found the instance busy did not list its tasks: its line must
// carry ECS's counts, not zeros that read as "nothing left", and no count of
// the tasks told to stop, which only a listing shows.
func TestABusyHopLogsECSsCounts(t *testing.T) {
	d := &fakeDrainer{startRes: drain.Result{Outcome: drain.OutcomeRequeued,
		Instance: &drain.Instance{Found: true, Status: drain.StatusDraining, Busy: true, Running: 3, Pending: 1}}}
	h, logs := newTestHandler(d, Config{})
	if _, err := h.Invoke(context.Background(), json.RawMessage(testdata(t, "terminate-action.json"))); err != nil {
		t.Fatal(err)
	}
	l := logLines(t, logs)[0]
	if l[keyRunningTasks] != float64(3) || l[keyPendingTasks] != float64(1) || l[keyStoppingTasks] != nil {
		t.Errorf("log line %v: want running_tasks 3, pending_tasks 1, no stopping_tasks", l)
	}
}
