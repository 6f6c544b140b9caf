package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/autoscaling"
	"github.com/ecs-drainer/ecs-drainer/internal/localaws/eventbridge"
	"github.com/ecs-drainer/ecs-drainer/internal/localdeploy"
)

// The soak's account is as varied as a real one (issue 11): besides the
// drainer's own group, a second group carries another team's terminate hook
// and a warm pool whose instances are terminated out of it; some draining
// instances lose their ECS agent for a moment, some for good; some already
// carry the 10 custom attributes ECS allows, so no chain mark fits.
const (
	soakGroup = "soak"
	// SoakOtherGroup is the soak's second group, with another team's hook
	// and a warm pool. The deployment must name it (SoakGroups).
	SoakOtherGroup = "soak-bystander"
	// soakOtherHook is the other team's hook: not the drainer's, and
	// completed by a fake team after a random delay.
	soakOtherHook = "log-flush"
	// soakOtherHeartbeat outlasts the team's longest delay, so its actions
	// end by the team's hand, never by lapsing.
	soakOtherHeartbeat = 300
	soakOtherMaxDelay  = 40 * time.Second
	// soakOtherAbandon is the share of the other team's actions it
	// completes with ABANDON, which ends the instance's other actions (the
	// drainer's among them) as Auto Scaling does.
	soakOtherAbandon = 0.1
	// soakDisconnectedAfter is the soak's DRAINER_DISCONNECTED_AFTER: under
	// the max drain, so a dead agent's early release shows, and above the
	// brief disconnects, which must not trigger it.
	soakDisconnectedAfter = 10 * time.Second
	soakBriefMax          = 6 * time.Second
)

// SoakGroups are the groups the soak drains, and whose launches it gates;
// its deployment must be synthesized for them.
var SoakGroups = []string{soakGroup, SoakOtherGroup, soakScaleGroup, soakRefreshGroup, soakSurgeGroup, soakStuckPortGroup, soakStuckGroup, soakStuckAgentGroup}

// account is what the soak did to its account besides the drains and the
// chaos: which instance got what, and when.
type account struct {
	group     map[string]string // drained instance -> its group
	warm      []string          // instances terminated out of the warm pool
	attrLimit map[string]bool   // at ECS's custom attribute limit before the drain
	brief     map[string]bool   // agent disconnected for a few seconds mid-drain
	long      map[string]bool   // agent disconnected as the drain began, for good
	team      *localdeploy.OtherTeam

	mu           sync.Mutex
	disconnected map[string]time.Time
	reconnected  map[string]time.Time
}

func (a *account) disconnect(id string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.disconnected[id] = at
}

func (a *account) reconnect(id string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reconnected[id] = at
}

func (a *account) disconnectedAt(id string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.disconnected[id]
	return t, ok
}

// ownHook reports whether hook is one of the drainer's: the terminate hook
// or the launch gate's.
func ownHook(hook string) bool {
	return hook == localdeploy.HookName || hook == contract.LaunchHookName
}

// checkDeployment checks that the deployment drains and gates every group
// of the soak: its terminate rule and its launch rule name each. Without
// the launch rule (the gate off) the soak's launches would only test Auto
// Scaling's heartbeat timeout.
func checkDeployment(d localdeploy.Deployment) error {
	names := func(pattern []byte) []string {
		var p struct {
			Detail struct {
				AutoScalingGroupName []string `json:"AutoScalingGroupName"`
			} `json:"detail"`
		}
		_ = json.Unmarshal(pattern, &p)
		return p.Detail.AutoScalingGroupName
	}
	var launch []byte
	for _, r := range d.Rules {
		if r.DetailType == contract.DetailTypeLaunch {
			launch = r.Pattern
		}
	}
	for _, g := range SoakGroups {
		switch {
		case !slices.Contains(names(d.EventPattern), g):
			return fmt.Errorf("the deployment does not drain %s: synthesize it for %v", g, SoakGroups)
		case !slices.Contains(names(launch), g):
			return fmt.Errorf("the deployment has no launch rule for %s: synthesize it for %v with the launch gate on", g, SoakGroups)
		}
	}
	return nil
}

// customAttributes are ten team attributes such as an account carries
// (ECS_INSTANCE_ATTRIBUTES): the most ECS allows on a resource.
var customAttributes = map[string]string{
	"team": "payments", "env": "prod", "cost-center": "cc-1234", "tier": "web", "stack": "blue",
	"owner": "platform", "patch-group": "weekly", "az-role": "primary", "compliance": "pci", "gpu": "none",
}

// otherTeamDecide is the other team's schedule: each action completes a
// random delay after it started, CONTINUE or, now and then, ABANDON.
func otherTeamDecide(rng *rand.Rand) func(autoscaling.ActionView) (string, bool) {
	type plan struct {
		at     time.Time
		result string
	}
	plans := map[string]plan{}
	return func(a autoscaling.ActionView) (string, bool) {
		p, ok := plans[a.Token]
		if !ok {
			p = plan{at: a.Started.Add(time.Duration(rng.Int64N(int64(soakOtherMaxDelay)))), result: autoscaling.ResultContinue}
			if rng.Float64() < soakOtherAbandon {
				p.result = autoscaling.ResultAbandon
			}
			plans[a.Token] = p
		}
		return p.result, !time.Now().Before(p.at)
	}
}

// outcomeLog reads the function's log lines as they are written: it counts
// the outcomes and the warnings the soak reports on, and passes every line
// on to next.
type outcomeLog struct {
	next io.Writer

	mu         sync.Mutex
	outcomes   map[string]int
	byInstance map[string]map[string]bool // instance -> outcomes logged for it
	warnings   map[string]int
	// ignored counts the records of other hooks the drainer ignored;
	// foreign lists the lines of an outcome for a hook not its own.
	ignored int
	foreign []string
	// diagnoses are the drains' "drain diagnosis changed" lines, by
	// instance.
	diagnoses map[string][]diagnosisLine
	// metrics reads every line's metrics.
	metrics *metricLog
}

func newOutcomeLog(next io.Writer) *outcomeLog {
	if next == nil {
		next = io.Discard
	}
	return &outcomeLog{next: next, outcomes: map[string]int{}, byInstance: map[string]map[string]bool{}, warnings: map[string]int{},
		diagnoses: map[string][]diagnosisLine{}, metrics: newMetricLog()}
}

// msgDiagnosis is the message of the line a drain logs when its diagnosis
// changes.
const msgDiagnosis = "drain diagnosis changed"

// Warnings the soak counts, by the start of their message.
var soakWarnings = map[string]string{
	"other_hooks": "the group has other terminate lifecycle hooks",
	"attr_limit":  "the container instance already has the 10 custom attributes",
}

func (l *outcomeLog) Write(p []byte) (int, error) {
	_, _ = l.next.Write(p)
	l.metrics.write(p)
	if !bytes.Contains(p, []byte(`"outcome":`)) && !bytes.Contains(p, []byte(`"level":"WARN"`)) && !bytes.Contains(p, []byte(`"msg":"record ignored"`)) &&
		!bytes.Contains(p, []byte(`"msg":"`+msgDiagnosis+`"`)) {
		return len(p), nil
	}
	var line struct {
		Time       time.Time `json:"time"`
		Msg        string    `json:"msg"`
		Hook       string    `json:"hook"`
		Outcome    string    `json:"outcome"`
		InstanceID string    `json:"instance_id"`
		// Tasks is a diagnosis line's findings; other lines' tasks have
		// other shapes.
		Tasks json.RawMessage `json:"tasks"`
	}
	if json.Unmarshal(p, &line) != nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if line.Msg == msgDiagnosis {
		d := diagnosisLine{At: line.Time}
		if json.Unmarshal(line.Tasks, &d.Tasks) == nil && line.InstanceID != "" {
			l.diagnoses[line.InstanceID] = append(l.diagnoses[line.InstanceID], d)
		}
	}
	other := line.Hook != "" && !ownHook(line.Hook)
	if other && line.Msg == "record ignored" {
		l.ignored++
	}
	if other && line.Outcome != "" {
		l.foreign = append(l.foreign, strings.TrimSpace(string(p)))
	}
	for kind, prefix := range soakWarnings {
		if strings.HasPrefix(line.Msg, prefix) {
			l.warnings[kind]++
		}
	}
	if line.Outcome != "" {
		l.outcomes[line.Outcome]++
		if l.byInstance[line.InstanceID] == nil {
			l.byInstance[line.InstanceID] = map[string]bool{}
		}
		l.byInstance[line.InstanceID][line.Outcome] = true
	}
	return len(p), nil
}

func (l *outcomeLog) logged(instanceID, outcome string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byInstance[instanceID][outcome]
}

// otherHooks returns how many records of other hooks the drainer ignored,
// and the lines where it logged an outcome for one.
func (l *outcomeLog) otherHooks() (ignored int, foreign []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ignored, slices.Clone(l.foreign)
}

// diagnosesByInstance copies the diagnosis lines, by instance.
func (l *outcomeLog) diagnosesByInstance() map[string][]diagnosisLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string][]diagnosisLine, len(l.diagnoses))
	for id, ds := range l.diagnoses {
		out[id] = slices.Clone(ds)
	}
	return out
}

// endedWith returns the instances for which outcome was logged, sorted.
func (l *outcomeLog) endedWith(outcome string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, os := range l.byInstance {
		if os[outcome] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (l *outcomeLog) counts() (outcomes, warnings map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.outcomes), maps.Clone(l.warnings)
}

// forwardOtherHooks adds a rule that sends the terminate events of every
// hook but the drainer's to the queue the drainer's lifecycle rule targets,
// as a rule without the construct's hook filter (an earlier deployment's,
// or one made by hand) would: the drainer must then ignore those events
// itself. A deployment whose rule has no hook filter already sends them.
func (w world) forwardOtherHooks(d localdeploy.Deployment) error {
	var pattern map[string]any
	if err := json.Unmarshal(d.EventPattern, &pattern); err != nil {
		return fmt.Errorf("reading the lifecycle rule's pattern: %w", err)
	}
	detail, _ := pattern["detail"].(map[string]any)
	hooks, ok := detail["LifecycleHookName"]
	if !ok {
		return nil
	}
	detail["LifecycleHookName"] = []any{map[string]any{"anything-but": hooks}}
	b, err := json.Marshal(pattern)
	if err != nil {
		return err
	}
	target := w.EventQueueURL
	for _, r := range d.Rules {
		if bytes.Equal(r.Pattern, d.EventPattern) && r.Queue == localdeploy.PollQueue {
			target = w.QueueURL
		}
	}
	// Named as the world names the lifecycle rule it adds to.
	const name = "ecs-drainer-lifecycle-other-hooks"
	if err := w.Bus.PutRule(name, b); err != nil {
		return err
	}
	return w.Bus.AddTarget(name, eventbridge.SQSTarget(w.AWS.SQS.Send, target))
}
