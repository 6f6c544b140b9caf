package autoscaling

import (
	"regexp"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/localaws/awswire"
)

// Lifecycle transitions and results, as the API spells them.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
	ResultContinue        = "CONTINUE"
	ResultAbandon         = "ABANDON"
)

// Hook limits from the PutLifecycleHook model and the quotas page (aws-api.md
// §2.5, §2.6).
const (
	minHeartbeat     = 30
	maxHeartbeat     = 7200
	defaultHeartbeat = 3600
	// maxGlobalTimeout caps the time in a wait state at 48 hours even when
	// 100 × HeartbeatTimeout is longer.
	maxGlobalTimeout = 172800
	maxHooksPerGroup = 50
	maxMetadataLen   = 4000
)

var (
	hookNamePattern = regexp.MustCompile(`^[A-Za-z0-9\-_/]+$`)
	// metadataPattern is the model's [\u0009\u000A\u000D\u0020-\u007e]+.
	metadataPattern = regexp.MustCompile("^[\t\n\r\x20-\x7e]+$")
)

// Hook is a lifecycle hook. Zero HeartbeatTimeout and empty DefaultResult
// take the API defaults (3600 s, ABANDON).
type Hook struct {
	Group                 string
	Name                  string
	Transition            string // TransitionTerminating or TransitionLaunching
	HeartbeatTimeout      int32  // seconds, 30..7200
	DefaultResult         string // ResultContinue or ResultAbandon
	NotificationMetadata  string
	NotificationTargetARN string
	RoleARN               string
}

// GlobalTimeout is the longest an instance may wait on this hook, however
// often heartbeats arrive: min(48 h, 100 × HeartbeatTimeout).
func (h Hook) GlobalTimeout() int32 {
	return min(maxGlobalTimeout, 100*h.HeartbeatTimeout)
}

// End says how a lifecycle action stopped being active.
type End string

const (
	// EndCompleted: CompleteLifecycleAction chose the result.
	EndCompleted End = "completed"
	// EndTimedOut: the heartbeat or global timeout lapsed and the hook's
	// DefaultResult applied.
	EndTimedOut End = "timed-out"
	// EndSkipped: another hook of the same instance ended with ABANDON,
	// which stops the remaining hooks; the action has no result of its own.
	EndSkipped End = "skipped"
)

type action struct {
	token          string
	inst           *instance
	hook           Hook // as it was when the action started
	started        time.Time
	deadline       time.Time
	globalDeadline time.Time
	heartbeats     int
	result         string
	end            End
	ended          time.Time
}

func (a *action) active() bool { return a.end == "" }

// LifecycleDetail is the detail of an "EC2 Instance-terminate Lifecycle
// Action" event (aws-api.md §1.2).
type LifecycleDetail struct {
	LifecycleActionToken string `json:"LifecycleActionToken"`
	AutoScalingGroupName string `json:"AutoScalingGroupName"`
	LifecycleHookName    string `json:"LifecycleHookName"`
	EC2InstanceID        string `json:"EC2InstanceId"`
	LifecycleTransition  string `json:"LifecycleTransition"`
	// NotificationMetadata is present only when the hook has metadata.
	NotificationMetadata string `json:"NotificationMetadata,omitempty"`
	Origin               string `json:"Origin"`
	Destination          string `json:"Destination"`
}

// DetailTypeTerminate is the EventBridge detail-type of a terminate action.
const DetailTypeTerminate = "EC2 Instance-terminate Lifecycle Action"

// beginTermination takes an instance out of service. With terminate hooks
// it waits in Terminating:Wait on one action per hook, all started at once
// and each announced by its own event; without, it goes on to Terminated.
func (s *Server) beginTermination(in *instance, at time.Time) {
	in.state = StateTerminating
	in.goneAt = at.Add(s.shutdownTime)
	g := in.group
	for _, h := range g.hooks {
		if h.Transition != TransitionTerminating {
			continue
		}
		in.state = StateTerminatingWait
		a := &action{
			token:          awswire.NewRequestID(),
			inst:           in,
			hook:           *h,
			started:        at,
			deadline:       at.Add(seconds(h.HeartbeatTimeout)),
			globalDeadline: at.Add(seconds(h.GlobalTimeout())),
		}
		in.actions = append(in.actions, a)
		s.actions = append(s.actions, a)
		s.emit(awswire.Event{
			Source:     "aws.autoscaling",
			DetailType: DetailTypeTerminate,
			Resources:  []string{g.arn},
			Detail: LifecycleDetail{
				LifecycleActionToken: a.token,
				AutoScalingGroupName: g.name,
				LifecycleHookName:    h.Name,
				EC2InstanceID:        in.id,
				LifecycleTransition:  TransitionTerminating,
				NotificationMetadata: h.NotificationMetadata,
				// [UNVERIFIED] inferred by symmetry with the launch example
				// (aws-api.md §1.2); consumers must treat both as optional.
				Origin:      "AutoScalingGroup",
				Destination: "EC2",
			},
		})
	}
}

func seconds(n int32) time.Duration { return time.Duration(n) * time.Second }

func (s *Server) emit(e awswire.Event) {
	if s.emitFn != nil {
		s.later(func() { s.emitFn(e) })
	}
}

// findAction looks up the active action of (group, hook) by token, or by
// instance ID when no token is given. Everything that is not an active
// action, including an unknown group or hook, gets the one error AWS is
// seen to return (aws-api.md §2.4).
func (s *Server) findAction(groupName, hook, token, instanceID string) (*action, *awswire.Error) {
	for _, a := range s.actions {
		if !a.active() || a.inst.group.name != groupName || a.hook.Name != hook {
			continue
		}
		if token != "" && a.token == token && (instanceID == "" || a.inst.id == instanceID) ||
			token == "" && a.inst.id == instanceID {
			return a, nil
		}
	}
	if token != "" {
		return nil, awswire.ClientError("ValidationError", "No active Lifecycle Action found with token %s", token)
	}
	return nil, awswire.ClientError("ValidationError", "No active Lifecycle Action found with instance ID %s", instanceID)
}

func (s *Server) complete(a *action, result string, at time.Time) {
	s.finish(a, result, EndCompleted, at)
}

// heartbeat restarts the action's timeout with the hook's full
// HeartbeatTimeout, never past the global timeout (aws-api.md §2.3).
func (s *Server) heartbeat(a *action, at time.Time) {
	a.heartbeats++
	a.deadline = at.Add(seconds(a.hook.HeartbeatTimeout))
	if a.deadline.After(a.globalDeadline) {
		a.deadline = a.globalDeadline
	}
}

func (s *Server) timeOut(a *action, at time.Time) {
	s.finish(a, a.hook.DefaultResult, EndTimedOut, at)
}

// finish ends one action and lets the instance proceed once no hook holds
// it: for a terminating instance CONTINUE waits for the other hooks, while
// ABANDON skips them; both end in termination (aws-api.md §2.5).
func (s *Server) finish(a *action, result string, end End, at time.Time) {
	a.result, a.end, a.ended = result, end, at
	in := a.inst
	for _, other := range in.actions {
		if !other.active() {
			continue
		}
		if result != ResultAbandon {
			return
		}
		other.end, other.ended = EndSkipped, at
	}
	in.state = StateTerminatingProceed
	in.goneAt = at.Add(s.shutdownTime)
}

// validateHook applies the PutLifecycleHook model constraints (aws-api.md
// §2.6) and fills the defaults.
func validateHook(h *Hook) *awswire.Error {
	var c checks
	c.length("LifecycleHookName", h.Name, 1, 255)
	c.pattern("LifecycleHookName", h.Name, hookNamePattern, `[A-Za-z0-9\-_\/]+`)
	c.length("AutoScalingGroupName", h.Group, 1, 255)
	c.length("NotificationTargetARN", h.NotificationTargetARN, 0, 255)
	if h.RoleARN != "" {
		c.length("RoleARN", h.RoleARN, 1, 255)
	}
	if h.NotificationMetadata != "" {
		c.length("NotificationMetadata", h.NotificationMetadata, 1, maxMetadataLen)
		c.pattern("NotificationMetadata", h.NotificationMetadata, metadataPattern, `[\u0009\u000A\u000D\u0020-\u007e]+`)
	}
	if err := c.err(); err != nil {
		return err
	}
	if h.HeartbeatTimeout == 0 {
		h.HeartbeatTimeout = defaultHeartbeat
	}
	if h.DefaultResult == "" {
		h.DefaultResult = ResultAbandon
	}
	switch {
	case h.Transition != TransitionTerminating && h.Transition != TransitionLaunching:
		return awswire.ClientError("ValidationError", "Invalid Lifecycle Transition: %q. Valid values are %s and %s.", h.Transition, TransitionLaunching, TransitionTerminating)
	case h.HeartbeatTimeout < minHeartbeat || h.HeartbeatTimeout > maxHeartbeat:
		return awswire.ClientError("ValidationError", "Heartbeat timeout must be between %d and %d seconds, got %d.", minHeartbeat, maxHeartbeat, h.HeartbeatTimeout)
	case h.DefaultResult != ResultContinue && h.DefaultResult != ResultAbandon:
		return awswire.ClientError("ValidationError", "Invalid DefaultResult: %q. Valid values are %s and %s.", h.DefaultResult, ResultContinue, ResultAbandon)
	}
	return nil
}

// putHook creates or replaces a hook. Actions already started keep the hook
// as it was, as they do on AWS, where a changed timeout applies to the next
// instance.
func (s *Server) putHook(h Hook) *awswire.Error {
	if err := validateHook(&h); err != nil {
		return err
	}
	g, err := s.group(h.Group)
	if err != nil {
		return err
	}
	for i, old := range g.hooks {
		if old.Name == h.Name {
			g.hooks[i] = &h
			return nil
		}
	}
	if len(g.hooks) >= maxHooksPerGroup {
		return awswire.ClientError("LimitExceeded", "Lifecycle hook limit of %d reached for AutoScalingGroup %s", maxHooksPerGroup, h.Group)
	}
	g.hooks = append(g.hooks, &h)
	return nil
}

func hookByName(g *group, name string) (*Hook, bool) {
	for _, h := range g.hooks {
		if h.Name == name {
			return h, true
		}
	}
	return nil, false
}

func checkResult(result string) *awswire.Error {
	if result != ResultContinue && result != ResultAbandon {
		return awswire.ClientError("ValidationError", "Invalid LifecycleActionResult: %s. Valid values are %s and %s.", result, ResultContinue, ResultAbandon)
	}
	return nil
}
