package lifecycle

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Values of the EventBridge envelope and lifecycle detail the drainer acts
// on. Source and detail type are the contract's: the construct's rule
// selects the same.
const (
	SourceAutoScaling   = contract.SourceAutoScaling
	DetailTypeTerminate = contract.DetailTypeTerminate
	DetailTypeLaunch    = contract.DetailTypeLaunch
	TransitionTerminate = "autoscaling:EC2_INSTANCE_TERMINATING"
	TransitionLaunch    = "autoscaling:EC2_INSTANCE_LAUNCHING"
	// A scheduled rule's event (EventBridge "rate(...)"): the reconciler's tick.
	sourceEvents        = "aws.events"
	detailTypeScheduled = "Scheduled Event"
	// testNotification is what Auto Scaling sends once to a hook's own
	// notification target when the hook is created; it names no instance.
	testNotification = "autoscaling:TEST_NOTIFICATION"
)

// Envelope is the EventBridge event envelope. Detail stays raw until source
// and detail-type say which shape it has.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Action is one pending lifecycle action: the detail of an "EC2
// Instance-terminate Lifecycle Action" event (a drain) or of an "EC2
// Instance-launch Lifecycle Action" event (the launch gate), plus the
// envelope fields the drain needs.
type Action struct {
	EventID              string    `json:"-"`
	Time                 time.Time `json:"-"` // when Auto Scaling put the instance into the wait state
	Token                string    `json:"LifecycleActionToken"`
	GroupName            string    `json:"AutoScalingGroupName"`
	HookName             string    `json:"LifecycleHookName"`
	InstanceID           string    `json:"EC2InstanceId"`
	Transition           string    `json:"LifecycleTransition"`
	NotificationMetadata string    `json:"NotificationMetadata,omitempty"`
	Origin               string    `json:"Origin,omitempty"`
	Destination          string    `json:"Destination,omitempty"`
}

// Launch reports whether a is a launch action, for the launch gate.
func (a Action) Launch() bool { return a.Transition == TransitionLaunch }

// IntoWarmPool reports whether a launch action puts a new instance into
// the group's warm pool rather than into service.
func (a Action) IntoWarmPool() bool { return a.Destination == contract.DestinationWarmPool }

// HookMetadata is what the drainer's hooks carry in NotificationMetadata,
// as the construct writes it.
type HookMetadata = contract.HookMetadata

// ParseHookMetadata reads a hook's NotificationMetadata. ok is false when
// it names no cluster (empty, or other keys only); err is set when it is
// not the drainer's JSON object, so a hook meant for us is never silently
// drained against the wrong cluster or with the wrong policy.
func ParseHookMetadata(s string) (m HookMetadata, ok bool, err error) {
	if s == "" {
		return HookMetadata{}, false, nil
	}
	var raw struct {
		Cluster    *string `json:"cluster"`
		OnTimeout  string  `json:"on_timeout"`
		StuckAfter string  `json:"stuck_after"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return HookMetadata{}, false, fmt.Errorf("notification metadata is not the JSON object {\"cluster\":\"NAME\"}: %w", err)
	}
	if raw.OnTimeout != "" {
		if err := contract.CheckOnTimeout("notification metadata's on_timeout", raw.OnTimeout); err != nil {
			return HookMetadata{}, false, err
		}
	}
	if raw.StuckAfter != "" {
		d, err := time.ParseDuration(raw.StuckAfter)
		if err != nil {
			return HookMetadata{}, false, fmt.Errorf("notification metadata's stuck_after %q is not a Go duration such as 20m", raw.StuckAfter)
		}
		if err := contract.StuckAfter.Check("notification metadata's stuck_after", d); err != nil {
			return HookMetadata{}, false, err
		}
	}
	m = HookMetadata{OnTimeout: raw.OnTimeout, StuckAfter: raw.StuckAfter}
	if raw.Cluster == nil {
		return m, false, nil
	}
	if *raw.Cluster == "" {
		return HookMetadata{}, false, fmt.Errorf("notification metadata names an empty cluster")
	}
	m.Cluster = *raw.Cluster
	return m, true, nil
}

// maxMetadata is Auto Scaling's limit on a hook's NotificationMetadata.
const maxMetadata = 4000

// validate checks a's fields; transition is the one its event's detail
// type names.
func (a Action) validate(transition string) error {
	switch {
	case a.GroupName == "":
		return fmt.Errorf("lifecycle action has no AutoScalingGroupName")
	case a.HookName == "":
		return fmt.Errorf("lifecycle action has no LifecycleHookName")
	case a.InstanceID == "":
		return fmt.Errorf("lifecycle action has no EC2InstanceId")
	case !ValidInstanceID(a.InstanceID):
		return fmt.Errorf("lifecycle action has EC2InstanceId %q, not an EC2 instance id", a.InstanceID)
	case a.Transition != transition:
		return fmt.Errorf("lifecycle action has transition %q, want %q", a.Transition, transition)
	case len(a.NotificationMetadata) > maxMetadata:
		return fmt.Errorf("lifecycle action has %d characters of NotificationMetadata, more than the %d Auto Scaling allows", len(a.NotificationMetadata), maxMetadata)
	case a.Time.IsZero():
		return fmt.Errorf("lifecycle event has no time")
	}
	return nil
}

// instanceIDPattern is the EC2 instance id format: "i-" and 8 (legacy) or 17
// lowercase hex digits.
var instanceIDPattern = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// ValidInstanceID reports whether id is an EC2 instance id. The id is placed
// into an ECS cluster query filter, so anything else (such as
// "i-1 or runningTasksCount > 0") could select and drain other instances.
func ValidInstanceID(id string) bool { return instanceIDPattern.MatchString(id) }
