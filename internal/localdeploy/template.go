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
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
)

// Deployment is what the local world takes from the CloudFormation template
// the CDK app synthesizes, so the rules, the function settings and the
// queues we test are the ones `cdk deploy` would create.
type Deployment struct {
	EventPattern []byte // the terminate lifecycle rule's pattern
	// Rules are every rule with a pattern (the schedule has none): the
	// terminate and launch lifecycle rules and the ECS rules, each with the
	// event it selects and the queue it targets, in the template's order of
	// logical ids.
	Rules []Rule
	// Hooks are the template's lifecycle hooks: the terminate hook and,
	// with the launch gate, the launch hook, in the template's order.
	Hooks         []autoscaling.Hook
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
	// DetailType is the one event the pattern selects:
	// contract.DetailTypeTerminate, DetailTypeLaunch, DetailTypeTaskState,
	// DetailTypeInstanceState or DetailTypeServiceAction.
	DetailType string
	// Gate marks the launch gate's rules, which DisableLaunchGate leaves
	// out: the launch lifecycle rule, and the rule for ACTIVE container
	// instances that opens a gate.
	Gate bool
}

// ECS reports whether the rule selects ECS events (what
// FunctionOptions.NoECSEvents leaves out), not lifecycle actions.
func (r Rule) ECS() bool {
	return r.DetailType == contract.DetailTypeTaskState || r.DetailType == contract.DetailTypeInstanceState ||
		r.DetailType == contract.DetailTypeServiceAction
}

// sources are the events a drainer's rule may select, by detail type, with
// the one source that sends each.
var sources = map[string]string{
	contract.DetailTypeTerminate:     contract.SourceAutoScaling,
	contract.DetailTypeLaunch:        contract.SourceAutoScaling,
	contract.DetailTypeTaskState:     contract.SourceECS,
	contract.DetailTypeInstanceState: contract.SourceECS,
	contract.DetailTypeServiceAction: contract.SourceECS,
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
	rule         Rule
}

// ParseTemplate reads a deployment from a synthesized template: each event
// source mapping is matched to its queue by EventSourceArn, each rule to the
// queue its target's Arn names and to the event its pattern's detail-type
// selects, the poll queue is the one DRAINER_QUEUE_URL references, and the
// lifecycle hooks are read as they are. A template with the launch gate
// turned off (DisableLaunchGate) has no launch hook and no gate rules.
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
		case "AWS::AutoScaling::LifecycleHook":
			err = tpl.hook(r.Properties)
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
		return Deployment{}, errors.New("template lacks the drainer's terminate lifecycle rule or function")
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
		r.rule.Queue = q
		d.Rules = append(d.Rules, r.rule)
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
	r, err := classify(pattern.Bytes())
	if err != nil {
		return err
	}
	// One rule per lifecycle transition: the construct routes every
	// group's actions through one, and a second would deliver each twice.
	if !r.ECS() {
		for _, o := range t.rules {
			if o.rule.DetailType == r.DetailType {
				return fmt.Errorf("a second rule for %q besides %s", r.DetailType, o.name)
			}
		}
	}
	if r.DetailType == contract.DetailTypeTerminate {
		t.d.EventPattern = r.Pattern
	}
	t.rules = append(t.rules, templateRule{name: name, target: p.Targets[0].Arn.arnOf(), rule: r})
	return nil
}

// classify reads which event a rule's pattern selects, by its detail type
// (a drainer's rules select one each), and whether it serves the launch
// gate. A pattern for anything else is refused, not guessed at: routed to
// the wrong place, it would change what the world delivers.
func classify(pattern []byte) (Rule, error) {
	var p struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
		Detail     struct {
			Status []json.RawMessage `json:"status"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(pattern, &p); err != nil {
		return Rule{}, fmt.Errorf("event pattern %s: %w", pattern, err)
	}
	if len(p.DetailType) != 1 {
		return Rule{}, fmt.Errorf("event pattern %s selects %d detail types, want one", pattern, len(p.DetailType))
	}
	r := Rule{Pattern: pattern, DetailType: p.DetailType[0]}
	source, ok := sources[r.DetailType]
	switch {
	case !ok:
		return Rule{}, fmt.Errorf("event pattern %s selects %q, which is no event of the drainer's", pattern, r.DetailType)
	case len(p.Source) != 1 || p.Source[0] != source:
		return Rule{}, fmt.Errorf("event pattern %s selects %q from sources %q, want %q", pattern, r.DetailType, p.Source, source)
	}
	active := slices.ContainsFunc(p.Detail.Status, func(s json.RawMessage) bool {
		var v string
		return json.Unmarshal(s, &v) == nil && v == contract.InstanceActive
	})
	r.Gate = r.DetailType == contract.DetailTypeLaunch || r.DetailType == contract.DetailTypeInstanceState && active
	return r, nil
}

// hook reads a lifecycle hook. Its group name is literal for the
// existing-cluster stack, the only one the local world deploys.
func (t *template) hook(props json.RawMessage) error {
	var p struct {
		AutoScalingGroupName json.RawMessage
		LifecycleHookName    string
		LifecycleTransition  string
		HeartbeatTimeout     int32
		DefaultResult        string
		NotificationMetadata string
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	h := autoscaling.Hook{Name: p.LifecycleHookName, Transition: p.LifecycleTransition, HeartbeatTimeout: p.HeartbeatTimeout,
		DefaultResult: p.DefaultResult, NotificationMetadata: p.NotificationMetadata}
	if json.Unmarshal(p.AutoScalingGroupName, &h.Group) != nil {
		return fmt.Errorf("hook %s: AutoScalingGroupName %s is not literal", h.Name, p.AutoScalingGroupName)
	}
	if h.Transition != autoscaling.TransitionLaunching && h.Transition != autoscaling.TransitionTerminating {
		return fmt.Errorf("hook %s: transition %q, want %s or %s", h.Name, h.Transition, autoscaling.TransitionLaunching, autoscaling.TransitionTerminating)
	}
	t.d.Hooks = append(t.d.Hooks, h)
	return nil
}

// LaunchHook returns the template's launch hook; ok is false without the
// launch gate.
func (d Deployment) LaunchHook() (h autoscaling.Hook, ok bool) {
	for _, h := range d.Hooks {
		if h.Transition == autoscaling.TransitionLaunching {
			return h, true
		}
	}
	return autoscaling.Hook{}, false
}

// WithoutLaunchGate is the deployment as the construct makes it with
// DisableLaunchGate: no launch hook, neither the launch lifecycle rule nor
// the ACTIVE container instance rule, DRAINER_HOOKS naming the terminate
// hook alone, and neither DRAINER_MAX_LAUNCH nor DRAINER_LAUNCH_DAEMONS.
// That is everything the prop removes that the local world deploys (the
// construct's TestDisableLaunchGateCreatesNoLaunchHookRuleAlarmOrPermission
// pins the list; the alarm, metric filter and IAM grants it also removes
// have no local counterpart), so the demo derives its gate-off world from
// the one checked-in template instead of keeping a second synth in step.
func (d Deployment) WithoutLaunchGate() Deployment {
	out := d
	out.Hooks = slices.DeleteFunc(slices.Clone(d.Hooks), func(h autoscaling.Hook) bool { return h.Transition == autoscaling.TransitionLaunching })
	out.Rules = slices.DeleteFunc(slices.Clone(d.Rules), func(r Rule) bool { return r.Gate })
	out.Environment = maps.Clone(d.Environment)
	delete(out.Environment, contract.MaxLaunch.Env)
	delete(out.Environment, contract.EnvLaunchDaemons)
	if hooks, ok := out.Environment[contract.EnvHooks]; ok {
		names := slices.DeleteFunc(strings.Split(hooks, ","), func(n string) bool { return strings.TrimSpace(n) == contract.LaunchHookName })
		out.Environment[contract.EnvHooks] = strings.Join(names, ",")
	}
	return out
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
