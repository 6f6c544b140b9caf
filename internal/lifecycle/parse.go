package lifecycle

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// Input is what one record body turned out to be. Exactly one of Action,
// Message, ECS, ServiceAction, Reconcile or Ignored is set.
type Input struct {
	Action  *Action
	Message *Message
	// ECS is a task or container instance state change that may mean a
	// draining instance has no task left.
	ECS *ECSEvent
	// ServiceAction is a service's task placement failure, which may say
	// why a drain cannot finish.
	ServiceAction *ServiceAction
	// Reconcile is set for the scheduled event that asks the function to
	// find waiting instances no chain is draining.
	Reconcile bool
	// Ignored is the reason a well-formed body needs no work (another
	// event type, a hook test notification).
	Ignored string
}

// maxBody bounds what Parse reads: SQS and EventBridge both cap a payload at
// 1 MiB, so anything larger did not come from them.
const maxBody = 1 << 20

// Parse classifies a record body. An error means the body can never be
// processed (not JSON, missing fields, unknown message version); the caller
// reports it failed so the queue's redrive policy moves it to the DLQ.
func Parse(body []byte) (Input, error) {
	if len(body) > maxBody {
		return Input{}, fmt.Errorf("body is %d bytes, larger than the 1 MiB any AWS event can be", len(body))
	}
	var probe struct {
		Kind       *string `json:"kind"`
		DetailType *string `json:"detail-type"`
		Event      *string `json:"Event"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return Input{}, fmt.Errorf("body is not a JSON object: %w", err)
	}
	switch {
	case probe.Kind != nil:
		if *probe.Kind != MessageKind {
			return Input{}, fmt.Errorf("body has kind %q, want %q", *probe.Kind, MessageKind)
		}
		var v struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return Input{}, fmt.Errorf("decoding re-queue message version: %w", err)
		}
		if v.Version != MessageVersion {
			return Input{}, fmt.Errorf("re-queue message version %d is not supported (this build reads version %d)", v.Version, MessageVersion)
		}
		var m Message
		if err := strictUnmarshal(body, &m); err != nil {
			return Input{}, fmt.Errorf("decoding re-queue message: %w", err)
		}
		if err := m.validate(); err != nil {
			return Input{}, err
		}
		return Input{Message: &m}, nil
	case probe.DetailType != nil:
		return parseEvent(body)
	case probe.Event != nil && *probe.Event == testNotification:
		return Input{Ignored: "auto scaling test notification"}, nil
	}
	return Input{}, fmt.Errorf("body is neither an EventBridge event nor a %s message", MessageKind)
}

func parseEvent(body []byte) (Input, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Input{}, fmt.Errorf("decoding EventBridge envelope: %w", err)
	}
	if env.Source == sourceEvents && env.DetailType == detailTypeScheduled {
		return Input{Reconcile: true}, nil
	}
	if env.Source == SourceECS && env.DetailType == contract.DetailTypeServiceAction {
		return parseServiceAction(env)
	}
	if env.Source == SourceECS {
		return parseECS(env)
	}
	transition, kind := TransitionTerminate, "terminate"
	switch {
	case env.Source != SourceAutoScaling:
		return Input{Ignored: fmt.Sprintf("event %q from %q is not a lifecycle action", env.DetailType, env.Source)}, nil
	case env.DetailType == DetailTypeLaunch:
		transition, kind = TransitionLaunch, "launch"
	case env.DetailType != DetailTypeTerminate:
		return Input{Ignored: fmt.Sprintf("event %q from %q is not a lifecycle action", env.DetailType, env.Source)}, nil
	}
	if len(env.Detail) == 0 || bytes.Equal(env.Detail, []byte("null")) {
		return Input{}, fmt.Errorf("%s lifecycle event %s has no detail", kind, env.ID)
	}
	var a Action
	if err := json.Unmarshal(env.Detail, &a); err != nil {
		return Input{}, fmt.Errorf("decoding %s lifecycle detail of event %s: %w", kind, env.ID, err)
	}
	a.EventID, a.Time = env.ID, env.Time
	if err := a.validate(transition); err != nil {
		return Input{}, fmt.Errorf("event %s: %w", env.ID, err)
	}
	return Input{Action: &a}, nil
}

// strictUnmarshal rejects unknown fields: a message with fields this build
// does not know was written by another build, and silently dropping its state
// could release an instance early.
func strictUnmarshal(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
