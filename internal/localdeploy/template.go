package localdeploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Deployment is what the local world takes from the CloudFormation template
// the CDK app synthesizes, so the rules, the function settings and the
// queues we test are the ones `cdk deploy` would create.
type Deployment struct {
	EventPattern []byte // the terminate lifecycle rule's pattern
	// Rules are every rule with a pattern, the terminate lifecycle rule's
	// and the ECS rules' (the schedule has none), each with the queue it
	// targets, in the template's order of logical ids.
	Rules         []Rule
	RecursiveLoop string
	Timeout       time.Duration
	MemoryMB      int
	Environment   map[string]string // literal values only (DRAINER_QUEUE_URL is a reference)
	// Events is the queue the ECS rules target (the construct's EventQueue),
	// Poll the one the function re-queues itself through, DRAINER_QUEUE_URL
	// (the construct's Queue), each with its event source mapping.
	Events, Poll EventSource
	// BatchSize is not read from the template: when not 0, it replaces
	// both event sources' batch sizes and drops their batching windows, for
	// a design that takes one record per invocation from whichever queue
	// (the bench's baselines).
	BatchSize int
}

// Queue names one of the drainer's two queues.
type Queue int

// The drainer's queues.
const (
	EventQueue Queue = iota + 1 // Deployment.Events
	PollQueue                   // Deployment.Poll
)

// Rule is one of the template's rules with an event pattern.
type Rule struct {
	Pattern []byte
	Queue   Queue // the rule's target
}

// EventSource is an SQS queue of the drainer and the event source mapping
// that feeds the function from it.
type EventSource struct {
	VisibilityTimeout time.Duration
	MaxReceiveCount   int
	BatchSize         int
	MaxBatchingWindow time.Duration
	MaxConcurrency    int
	ReportFailures    bool
}

// Synthesize runs the CDK app for an existing cluster and groups
// (SynthesizeTemplate) and reads the deployment from its template.
func Synthesize(ctx context.Context, cluster string, groups []string) (Deployment, error) {
	b, err := SynthesizeTemplate(ctx, cluster, groups)
	if err != nil {
		return Deployment{}, err
	}
	return ParseTemplate(b)
}

// SynthesizeTemplate runs the CDK app (`go run ./infra`, as cdk.json does)
// for an existing cluster and groups, offline, into a temporary directory,
// and returns its template. The app's first build downloads and compiles
// the CDK modules (minutes on a cold cache); later runs take seconds.
func SynthesizeTemplate(ctx context.Context, cluster string, groups []string) ([]byte, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp("", "ecs-drainer-synth")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	contextJSON, err := json.Marshal(map[string]string{"cluster": cluster, "asgs": strings.Join(groups, ",")})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./infra")
	cmd.Dir = root
	// CDK_OUTDIR and CDK_CONTEXT_JSON are how the CDK CLI hands an app its
	// output directory and context.
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+out, "CDK_CONTEXT_JSON="+string(contextJSON), "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("synthesizing the CDK app: %w\n%s", err, b)
	}
	matches, err := filepath.Glob(filepath.Join(out, "*.template.json"))
	if err != nil || len(matches) != 1 {
		return nil, fmt.Errorf("want one template in %s, found %v (%v)", out, matches, err)
	}
	return os.ReadFile(matches[0])
}

type resource struct {
	Type       string          `json:"Type"`
	Properties json.RawMessage `json:"Properties"`
}

// getAtt is the logical id an {"Fn::GetAtt": [id, "Arn"]} names, or "".
type getAtt struct {
	GetAtt []string `json:"Fn::GetAtt"`
}

func (g getAtt) arnOf() string {
	if len(g.GetAtt) == 2 && g.GetAtt[1] == "Arn" {
		return g.GetAtt[0]
	}
	return ""
}

// template holds what ParseTemplate reads, by logical id, until the
// references between the resources are resolved.
type template struct {
	d        Deployment
	queues   map[string]EventSource // queues with a redrive policy (not the DLQ)
	mappings map[string]EventSource // by the logical id of their queue
	rules    []templateRule
	pollID   string // the queue DRAINER_QUEUE_URL references
}

type templateRule struct {
	name, target string
	pattern      []byte
}

// ParseTemplate reads a deployment from a synthesized template: each event
// source mapping is matched to its queue by EventSourceArn, each rule to the
// queue its target's Arn names, and the poll queue is the one
// DRAINER_QUEUE_URL references.
func ParseTemplate(b []byte) (Deployment, error) {
	var t struct {
		Resources map[string]resource `json:"Resources"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return Deployment{}, fmt.Errorf("reading template: %w", err)
	}
	tpl := template{queues: map[string]EventSource{}, mappings: map[string]EventSource{}}
	for _, name := range slices.Sorted(maps.Keys(t.Resources)) {
		r := t.Resources[name]
		var err error
		switch r.Type {
		case "AWS::Events::Rule":
			err = tpl.rule(name, r.Properties)
		case "AWS::Lambda::Function":
			err = tpl.function(r.Properties)
		case "AWS::SQS::Queue":
			err = tpl.queue(name, r.Properties)
		case "AWS::Lambda::EventSourceMapping":
			err = tpl.mapping(r.Properties)
		}
		if err != nil {
			return Deployment{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return tpl.resolve()
}

// resolve pairs each queue with its event source and each rule with its
// queue.
func (t *template) resolve() (Deployment, error) {
	d := t.d
	if d.EventPattern == nil || d.Timeout == 0 {
		return Deployment{}, errors.New("template lacks the drainer's lifecycle rule or function")
	}
	source := func(id string) (EventSource, error) {
		q, ok := t.queues[id]
		if !ok {
			return EventSource{}, fmt.Errorf("%s is not a queue with a redrive policy", id)
		}
		m, ok := t.mappings[id]
		if !ok {
			return EventSource{}, fmt.Errorf("queue %s has no event source mapping", id)
		}
		m.VisibilityTimeout, m.MaxReceiveCount = q.VisibilityTimeout, q.MaxReceiveCount
		return m, nil
	}
	var err error
	if t.pollID == "" {
		return Deployment{}, fmt.Errorf("the function's %s references no queue", contract.EnvQueueURL)
	}
	if d.Poll, err = source(t.pollID); err != nil {
		return Deployment{}, fmt.Errorf("%s: %w", contract.EnvQueueURL, err)
	}
	var eventID string
	for id := range t.mappings {
		switch {
		case id == t.pollID:
		case eventID != "":
			return Deployment{}, fmt.Errorf("event source mappings on %s and %s besides the poll queue %s: want one event queue", eventID, id, t.pollID)
		default:
			eventID = id
		}
	}
	if eventID == "" {
		return Deployment{}, errors.New("no event source mapping besides the poll queue's: want an event queue")
	}
	if d.Events, err = source(eventID); err != nil {
		return Deployment{}, err
	}
	for _, r := range t.rules {
		q := map[string]Queue{eventID: EventQueue, t.pollID: PollQueue}[r.target]
		if q == 0 {
			return Deployment{}, fmt.Errorf("%s: its target %q is neither the event queue %s nor the poll queue %s", r.name, r.target, eventID, t.pollID)
		}
		d.Rules = append(d.Rules, Rule{Pattern: r.pattern, Queue: q})
	}
	return d, nil
}

func (t *template) rule(name string, props json.RawMessage) error {
	var p struct {
		EventPattern json.RawMessage
		Targets      []struct{ Arn getAtt }
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	// The reconciler's schedule has no pattern.
	if len(p.EventPattern) == 0 {
		return nil
	}
	if strings.Contains(string(p.EventPattern), "Fn::") {
		return fmt.Errorf("event pattern %s is not literal: the local EventBridge cannot resolve CloudFormation functions", p.EventPattern)
	}
	if len(p.Targets) != 1 {
		return fmt.Errorf("%d targets, want the one queue", len(p.Targets))
	}
	// Compact, so that a pattern reads the same from a template however
	// it was indented.
	var pattern bytes.Buffer
	if err := json.Compact(&pattern, p.EventPattern); err != nil {
		return err
	}
	t.rules = append(t.rules, templateRule{name: name, target: p.Targets[0].Arn.arnOf(), pattern: pattern.Bytes()})
	if strings.Contains(pattern.String(), "aws.autoscaling") {
		t.d.EventPattern = pattern.Bytes()
	}
	return nil
}

func (t *template) function(props json.RawMessage) error {
	var p struct {
		RecursiveLoop string
		Timeout       int
		MemorySize    int
		Environment   struct{ Variables map[string]json.RawMessage }
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	d := &t.d
	d.RecursiveLoop, d.Timeout, d.MemoryMB = p.RecursiveLoop, time.Duration(p.Timeout)*time.Second, p.MemorySize
	d.Environment = map[string]string{}
	for k, v := range p.Environment.Variables {
		var s string
		if json.Unmarshal(v, &s) == nil {
			d.Environment[k] = s
		}
	}
	var queueURL struct{ Ref string }
	if err := json.Unmarshal(p.Environment.Variables[contract.EnvQueueURL], &queueURL); err == nil {
		t.pollID = queueURL.Ref
	}
	return nil
}

func (t *template) queue(name string, props json.RawMessage) error {
	var p struct {
		VisibilityTimeout int
		RedrivePolicy     *struct{ MaxReceiveCount int }
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	if p.RedrivePolicy != nil { // a drain queue, not the DLQ
		t.queues[name] = EventSource{VisibilityTimeout: time.Duration(p.VisibilityTimeout) * time.Second, MaxReceiveCount: p.RedrivePolicy.MaxReceiveCount}
	}
	return nil
}

func (t *template) mapping(props json.RawMessage) error {
	var p struct {
		EventSourceArn                 getAtt
		BatchSize                      int
		MaximumBatchingWindowInSeconds int
		FunctionResponseTypes          []string
		ScalingConfig                  struct{ MaximumConcurrency int }
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	queue := p.EventSourceArn.arnOf()
	if queue == "" {
		return errors.New("EventSourceArn is not a queue of the template")
	}
	m := EventSource{BatchSize: p.BatchSize, MaxBatchingWindow: time.Duration(p.MaximumBatchingWindowInSeconds) * time.Second,
		MaxConcurrency: p.ScalingConfig.MaximumConcurrency}
	for _, rt := range p.FunctionResponseTypes {
		m.ReportFailures = m.ReportFailures || rt == "ReportBatchItemFailures"
	}
	t.mappings[queue] = m
	return nil
}
