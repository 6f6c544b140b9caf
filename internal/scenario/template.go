package scenario

import (
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
)

// Deployment is what the local world takes from the CloudFormation template
// the CDK app synthesizes, so the rule, the function settings and the queue
// we test are the ones `cdk deploy` would create.
type Deployment struct {
	EventPattern []byte // the terminate lifecycle rule's pattern
	// EventPatterns are every rule's pattern, the terminate lifecycle rule's
	// and the ECS rules' (the schedule has none), in the template's order
	// of logical ids.
	EventPatterns     [][]byte
	RecursiveLoop     string
	Timeout           time.Duration
	MemoryMB          int
	Environment       map[string]string // literal values only (DRAINER_QUEUE_URL is a reference)
	VisibilityTimeout time.Duration
	MaxReceiveCount   int
	BatchSize         int
	MaxConcurrency    int
	ReportFailures    bool
}

// Synthesize runs the CDK app (`go run ./infra`, as cdk.json does) for an
// existing cluster and groups, offline, into a temporary directory, and
// reads the deployment from its template. The app's first build downloads
// and compiles the CDK modules (a minute or two); later runs take seconds.
func Synthesize(ctx context.Context, cluster string, groups []string) (Deployment, error) {
	root, err := moduleRoot()
	if err != nil {
		return Deployment{}, err
	}
	out, err := os.MkdirTemp("", "ecs-drainer-synth")
	if err != nil {
		return Deployment{}, err
	}
	defer os.RemoveAll(out)
	contextJSON, err := json.Marshal(map[string]string{"cluster": cluster, "asgs": strings.Join(groups, ",")})
	if err != nil {
		return Deployment{}, err
	}
	cmd := exec.CommandContext(ctx, "go", "run", "./infra")
	cmd.Dir = root
	// CDK_OUTDIR and CDK_CONTEXT_JSON are how the CDK CLI hands an app its
	// output directory and context.
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+out, "CDK_CONTEXT_JSON="+string(contextJSON), "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return Deployment{}, fmt.Errorf("synthesizing the CDK app: %w\n%s", err, b)
	}
	matches, err := filepath.Glob(filepath.Join(out, "*.template.json"))
	if err != nil || len(matches) != 1 {
		return Deployment{}, fmt.Errorf("want one template in %s, found %v (%v)", out, matches, err)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		return Deployment{}, err
	}
	return ParseTemplate(b)
}

type resource struct {
	Type       string          `json:"Type"`
	Properties json.RawMessage `json:"Properties"`
}

// ParseTemplate reads a deployment from a synthesized template.
func ParseTemplate(b []byte) (Deployment, error) {
	var t struct {
		Resources map[string]resource `json:"Resources"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return Deployment{}, fmt.Errorf("reading template: %w", err)
	}
	var d Deployment
	for _, name := range slices.Sorted(maps.Keys(t.Resources)) {
		r := t.Resources[name]
		var err error
		switch r.Type {
		case "AWS::Events::Rule":
			err = d.rule(r.Properties)
		case "AWS::Lambda::Function":
			err = d.function(r.Properties)
		case "AWS::SQS::Queue":
			err = d.queue(r.Properties)
		case "AWS::Lambda::EventSourceMapping":
			err = d.mapping(r.Properties)
		}
		if err != nil {
			return Deployment{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	if d.EventPattern == nil || d.Timeout == 0 || d.VisibilityTimeout == 0 || d.BatchSize == 0 {
		return Deployment{}, errors.New("template lacks the drainer's rule, function, queue or event source")
	}
	return d, nil
}

func (d *Deployment) rule(props json.RawMessage) error {
	var p struct {
		EventPattern json.RawMessage
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
	d.EventPatterns = append(d.EventPatterns, p.EventPattern)
	if strings.Contains(string(p.EventPattern), "aws.autoscaling") {
		d.EventPattern = p.EventPattern
	}
	return nil
}

func (d *Deployment) function(props json.RawMessage) error {
	var p struct {
		RecursiveLoop string
		Timeout       int
		MemorySize    int
		Environment   struct{ Variables map[string]any }
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	d.RecursiveLoop, d.Timeout, d.MemoryMB = p.RecursiveLoop, time.Duration(p.Timeout)*time.Second, p.MemorySize
	d.Environment = map[string]string{}
	for k, v := range p.Environment.Variables {
		if s, ok := v.(string); ok {
			d.Environment[k] = s
		}
	}
	return nil
}

func (d *Deployment) queue(props json.RawMessage) error {
	var p struct {
		VisibilityTimeout int
		RedrivePolicy     *struct{ MaxReceiveCount int }
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	if p.RedrivePolicy != nil { // the drain queue, not its DLQ
		d.VisibilityTimeout = time.Duration(p.VisibilityTimeout) * time.Second
		d.MaxReceiveCount = p.RedrivePolicy.MaxReceiveCount
	}
	return nil
}

func (d *Deployment) mapping(props json.RawMessage) error {
	var p struct {
		BatchSize             int
		FunctionResponseTypes []string
		ScalingConfig         struct{ MaximumConcurrency int }
	}
	if err := json.Unmarshal(props, &p); err != nil {
		return err
	}
	d.BatchSize, d.MaxConcurrency = p.BatchSize, p.ScalingConfig.MaximumConcurrency
	for _, t := range p.FunctionResponseTypes {
		d.ReportFailures = d.ReportFailures || t == "ReportBatchItemFailures"
	}
	return nil
}
