package lifecycle

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ecs-drainer/ecs-drainer/internal/contract"
)

// MessageKind marks a body as the drainer's own re-queue message, so it can
// never be mistaken for an EventBridge event sharing the queue.
const MessageKind = "ecs-drainer/requeue"

// MessageVersion is the only version this build understands. A message of
// another version is an error, never a guess: it goes to the DLQ, where the
// build that wrote it can replay it.
const MessageVersion = 1

// Message is the re-queue message: all the state one drain needs to continue,
// so each hop costs a handful of API calls and no database.
type Message struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`

	EventID    string `json:"event_id"` // the EventBridge event that started the chain
	Cluster    string `json:"cluster"`
	GroupName  string `json:"asg"`
	HookName   string `json:"hook"`
	InstanceID string `json:"instance_id"`
	Token      string `json:"token,omitempty"`

	ContainerInstanceARN string `json:"container_instance,omitempty"`

	Start    time.Time `json:"start"`
	Deadline time.Time `json:"deadline"`
	// HeartbeatTimeoutSeconds is the hook's HeartbeatTimeout, read once per drain.
	HeartbeatTimeoutSeconds int       `json:"heartbeat_timeout_s"`
	LastHeartbeat           time.Time `json:"last_heartbeat"`
	Attempt                 int       `json:"attempt"`

	// ID names this message in the chain mark (see drain.Owns). The hop
	// that sends the message draws it, and a copy of the body sent back to
	// the queue unchanged (too little invocation time left) keeps it, so
	// the copy still carries the drain. Messages of earlier builds have
	// none: their SQS message id stands in.
	ID string `json:"id,omitempty"`
	// Parent is the id of the message (for a first hop, the record) whose
	// hop sent this one. A message of an earlier build answers to a mark
	// naming it: that build marked after sending.
	Parent string `json:"parent,omitempty"`
	// Fallback is the id the chain mark named when the hop that sent this
	// message could not write the mark: the mark still names it, and this
	// message answers to it.
	Fallback string `json:"fallback,omitempty"`
	// OtherHooks are the group's other terminate hooks, seen when the drain
	// started: Auto Scaling terminates the instance only once their
	// actions have ended too.
	OtherHooks []string `json:"other_hooks,omitempty"`
	// Unmarked is set when the container instance already has the custom
	// attributes ECS allows, so no chain mark can be written: the drain goes
	// on by polling alone.
	Unmarked bool `json:"unmarked,omitempty"`
	// DisconnectedSince is when a hop first saw the instance's ECS agent
	// disconnected, zero while it is connected.
	DisconnectedSince time.Time `json:"disconnected_since,omitzero"`
	// OnTimeout is the timeout policy, resolved when the drain started.
	OnTimeout string `json:"on_timeout,omitempty"`
	// TasksStoppedAt is when the stop-tasks policy stopped what was left.
	TasksStoppedAt time.Time `json:"tasks_stopped_at,omitzero"`
	// IntoWarmPool is set for a drain whose instance returns to the warm
	// pool (ReuseOnScaleIn), and SetDraining once a hop of the drain set it
	// DRAINING: such an instance comes back with the same container
	// instance, still DRAINING, and the drain's completion leaves the chain
	// mark on it so that the launch gate can tell our drain from an
	// operator's and set it ACTIVE again.
	IntoWarmPool bool `json:"into_warm_pool,omitempty"`
	SetDraining  bool `json:"set_draining,omitempty"`
	// The diagnosis (package diagnose): the key of the last one, when it
	// was made and with how many tasks the instance counted then, since
	// when every task left has had a blocking reason and the reason most
	// of them have (diagnose.BlockedReason), and the first diagnosis'
	// check of room elsewhere (service -> what no other instance has, ""
	// when one has room) with the group's instances launching.
	Diagnosis      string            `json:"diagnosis,omitempty"`
	DiagnosedAt    time.Time         `json:"diagnosed_at,omitzero"`
	DiagnosedTasks int               `json:"diagnosed_tasks,omitempty"`
	BlockedSince   time.Time         `json:"blocked_since,omitzero"`
	BlockedReason  string            `json:"blocked_reason,omitempty"`
	Room           map[string]string `json:"room,omitempty"`
	Launching      int               `json:"launching,omitempty"`
	// StuckAfterSeconds is the hook's own DRAINER_STUCK_AFTER, from its
	// metadata; 0 leaves the operator's, -1 turns it off.
	StuckAfterSeconds int `json:"stuck_after_s,omitempty"`
	// Launch marks the launch gate's chain: it waits for the instance's
	// container instance to be ready, where a drain's waits for its tasks
	// to be gone. A message without it is a drain's.
	Launch bool `json:"launch,omitempty"`
	// Due is when this message's hop was meant to run, a point of the poll
	// grid: a hop that ran late (a batching window, a busy queue) schedules
	// the next one from it, so the polls stay on the grid instead of
	// drifting by every delay.
	Due time.Time `json:"due,omitzero"`
}

// HeartbeatTimeout is the hook's heartbeat timeout as a duration.
func (m Message) HeartbeatTimeout() time.Duration {
	return time.Duration(m.HeartbeatTimeoutSeconds) * time.Second
}

func (m Message) validate() error {
	switch {
	case m.Cluster == "":
		return fmt.Errorf("re-queue message has no cluster")
	case m.GroupName == "":
		return fmt.Errorf("re-queue message has no asg")
	case m.HookName == "":
		return fmt.Errorf("re-queue message has no hook")
	case !ValidInstanceID(m.InstanceID):
		return fmt.Errorf("re-queue message has instance_id %q, not an EC2 instance id", m.InstanceID)
	case m.Start.IsZero() || m.Deadline.IsZero():
		return fmt.Errorf("re-queue message has no start or deadline")
	case m.HeartbeatTimeoutSeconds <= 0:
		return fmt.Errorf("re-queue message has heartbeat_timeout_s %d, want > 0", m.HeartbeatTimeoutSeconds)
	case m.Attempt < 1:
		return fmt.Errorf("re-queue message has attempt %d, want >= 1", m.Attempt)
	case m.OnTimeout != "" && !contract.ValidOnTimeout(m.OnTimeout):
		return fmt.Errorf("re-queue message has on_timeout %q, not a timeout policy", m.OnTimeout)
	}
	return nil
}

// Encode marshals m as the current message version.
func (m Message) Encode() ([]byte, error) {
	m.Kind, m.Version = MessageKind, MessageVersion
	return json.Marshal(m)
}
