package localdeploy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The local world must run the queues and event sources the construct
// deploys, otherwise the end-to-end tests pass against settings production
// does not have: the rules' events on a queue without a batching window, the
// re-queue messages in batches of 100 gathered for a second.
func TestTheDeploymentIsReadFromTheSynthesizedTemplate(t *testing.T) {
	skipShort(t, "reads the synthesized template")
	want := struct{ Events, Poll EventSource }{
		Events: EventSource{VisibilityTimeout: 180 * time.Second, MaxReceiveCount: 5, BatchSize: 10, MaxConcurrency: 10, ReportFailures: true},
		Poll: EventSource{VisibilityTimeout: 181 * time.Second, MaxReceiveCount: 5, BatchSize: 100, MaxBatchingWindow: time.Second,
			MaxConcurrency: 5, ReportFailures: true},
	}
	got := struct{ Events, Poll EventSource }{deployment.Events, deployment.Poll}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event sources (-want +got):\n%s", diff)
	}
	if len(deployment.Rules) != 3 {
		t.Fatalf("%d rules with a pattern, want 3", len(deployment.Rules))
	}
	// The lifecycle rule feeds the poll queue (first hops share their
	// reads 100 at a time), the ECS rules the event queue (no window).
	for _, r := range deployment.Rules {
		want := EventQueue
		if strings.Contains(string(r.Pattern), "aws.autoscaling") {
			want = PollQueue
		}
		if r.Queue != want {
			t.Errorf("rule %s targets queue %d, want %d", r.Pattern, r.Queue, want)
		}
	}
}

// minimalTemplate is the shape ParseTemplate resolves: a rule, the function
// with DRAINER_QUEUE_URL, the poll and event queues with a mapping each, and
// the DLQ.
func minimalTemplate() map[string]any {
	getAtt := func(id string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }
	queue := func(visibility int) map[string]any {
		return map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{
			"VisibilityTimeout": visibility, "RedrivePolicy": map[string]any{"deadLetterTargetArn": getAtt("DLQ"), "maxReceiveCount": 5}}}
	}
	return map[string]any{"Resources": map[string]any{
		"Rule": map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
			"EventPattern": map[string]any{"source": []any{"aws.autoscaling"}},
			"Targets":      []any{map[string]any{"Id": "T", "Arn": getAtt("EventQueue")}}}},
		"Function": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
			"Timeout": 30, "Environment": map[string]any{"Variables": map[string]any{"DRAINER_QUEUE_URL": map[string]any{"Ref": "Queue"}}}}},
		"Queue":      queue(181),
		"EventQueue": queue(180),
		"DLQ":        map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{}},
		"PollMapping": map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": map[string]any{
			"EventSourceArn": getAtt("Queue"), "BatchSize": 100, "MaximumBatchingWindowInSeconds": 1}},
		"EventMapping": map[string]any{"Type": "AWS::Lambda::EventSourceMapping", "Properties": map[string]any{
			"EventSourceArn": getAtt("EventQueue"), "BatchSize": 10}},
	}}
}

// A template the world cannot map onto its two queues must be refused, not
// run with a guess: events routed to the wrong queue would change the
// latency the tests measure.
func TestParseTemplateMatchesMappingsAndRulesToTheirQueues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(res map[string]any)
		want   string // in the error; "" means accepted
	}{
		{"the minimal template", func(map[string]any) {}, ""},
		{"a rule targeting the dead-letter queue", func(res map[string]any) {
			res["Rule"].(map[string]any)["Properties"].(map[string]any)["Targets"] = []any{
				map[string]any{"Id": "T", "Arn": map[string]any{"Fn::GetAtt": []any{"DLQ", "Arn"}}}}
		}, "Rule: its target \"DLQ\" is neither the event queue EventQueue nor the poll queue Queue"},
		{"DRAINER_QUEUE_URL on a queue without a mapping", func(res map[string]any) {
			delete(res, "PollMapping")
		}, "DRAINER_QUEUE_URL: queue Queue has no event source mapping"},
		{"no event queue", func(res map[string]any) {
			delete(res, "EventMapping")
		}, "no event source mapping besides the poll queue's"},
		{"a mapping on a queue with no redrive policy", func(res map[string]any) {
			res["EventMapping"].(map[string]any)["Properties"].(map[string]any)["EventSourceArn"] = map[string]any{"Fn::GetAtt": []any{"DLQ", "Arn"}}
		}, "DLQ is not a queue with a redrive policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := minimalTemplate()
			tc.change(tpl["Resources"].(map[string]any))
			b, err := json.Marshal(tpl)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseTemplate(b)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("ParseTemplate: %v, want accepted", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("ParseTemplate error = %v, want it to contain %q", err, tc.want)
			case tc.want == "":
				if d.Poll.BatchSize != 100 || d.Poll.MaxBatchingWindow != time.Second || d.Events.BatchSize != 10 || d.Events.VisibilityTimeout != 180*time.Second {
					t.Errorf("got poll %+v, events %+v; want the poll mapping on Queue and the event mapping on EventQueue", d.Poll, d.Events)
				}
				if len(d.Rules) != 1 || d.Rules[0].Queue != EventQueue {
					t.Errorf("rules %+v, want the one rule on the event queue", d.Rules)
				}
			}
		})
	}
}

// The overrides apply to both event sources alike: the bench's baselines
// take one record per invocation from either queue (no window, which a
// batch of one does not need), and a soak's short visibility timeout must
// bring failed records back from both.
func TestOverridesApplyToBothEventSources(t *testing.T) {
	poll := EventSource{VisibilityTimeout: 181 * time.Second, BatchSize: 100, MaxBatchingWindow: time.Second, MaxConcurrency: 5, ReportFailures: true}
	for _, tc := range []struct {
		name string
		d    Deployment
		o    FunctionOptions
		want EventSource
	}{
		{"none: the template's", Deployment{}, FunctionOptions{}, poll},
		{"a visibility timeout and a concurrency", Deployment{}, FunctionOptions{VisibilityTimeout: 10 * time.Second, Concurrency: 32},
			EventSource{VisibilityTimeout: 10 * time.Second, BatchSize: 100, MaxBatchingWindow: time.Second, MaxConcurrency: 32, ReportFailures: true}},
		{"a batch of one", Deployment{BatchSize: 1}, FunctionOptions{},
			EventSource{VisibilityTimeout: 181 * time.Second, BatchSize: 1, MaxConcurrency: 5, ReportFailures: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, poll.with(tc.d, tc.o)); diff != "" {
				t.Errorf("poll source with %+v and %+v (-want +got):\n%s", tc.d, tc.o, diff)
			}
		})
	}
}
