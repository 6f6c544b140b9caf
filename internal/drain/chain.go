package drain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ChainAttribute is the custom ECS attribute on the container instance that
// marks which message currently carries the drain: the state stored on the
// instance itself, so that duplicate chains converge to one without a
// database.
//
// Forks are unavoidable with at-least-once delivery: EventBridge may deliver
// an event twice, SQS may deliver a message twice, and a hop that crashes
// after sending its next message is redelivered and sends another. Each hop
// sends its next message first and then writes that message's id into the
// mark (last writer wins). A hop runs only if the mark names its own message
// or its parent (the sender stopped between sending and marking); any other
// message of the action belongs to a fork and ends. So after any fork, the
// next round of hops leaves exactly one chain.
const ChainAttribute = "ecs-drainer.chain"

// Chain is the parsed mark: "<start>:<due>:<message id>:<token>[:<hook>]",
// times in Unix seconds. It fits ECS's 128-character attribute value limit
// (an SQS message id and a lifecycle token are 36 characters each); the hook
// is written only when it fits too (hook names have no colon), and marks
// without it, written by earlier builds, still parse.
type Chain struct {
	Start     time.Time // when the drain started, so a restarted drain keeps its deadline
	Due       time.Time // when the marked message is due to be processed
	MessageID string
	Token     string
	// Hook is the lifecycle hook the drain completes, so an ECS event can
	// complete the action without looking the hook up; "" when unknown.
	Hook string
}

// maxAttributeValue is ECS's limit on a custom attribute's value.
const maxAttributeValue = 128

func (c Chain) String() string {
	v := fmt.Sprintf("%d:%d:%s:%s", c.Start.Unix(), c.Due.Unix(), c.MessageID, c.Token)
	if c.Hook != "" && len(v)+1+len(c.Hook) <= maxAttributeValue {
		v += ":" + c.Hook
	}
	return v
}

// ParseChain reads a mark; ok is false for anything else.
func ParseChain(v string) (c Chain, ok bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 4 && len(parts) != 5 || parts[2] == "" {
		return Chain{}, false
	}
	if len(parts) == 5 {
		c.Hook = parts[4]
	}
	start, err1 := strconv.ParseInt(parts[0], 10, 64)
	due, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return Chain{}, false
	}
	c.Start, c.Due, c.MessageID, c.Token = time.Unix(start, 0).UTC(), time.Unix(due, 0).UTC(), parts[2], parts[3]
	return c, true
}

// Owns reports whether the hop of drain s, processing record o.RecordID,
// carries the drain according to the mark o.Chain.
func Owns(s State, o Observation, p Policy) bool {
	c := o.Chain
	if c == nil {
		// No mark yet (or the instance lost it): nothing to defer to. A
		// fork this lets through is resolved at the next hop.
		return true
	}
	if s.Token != "" && c.Token != "" && s.Token != c.Token {
		// The mark belongs to another lifecycle action on this instance (a
		// warm pool returns instances): a new action's first hop takes
		// over, a message of the other action is stale.
		return s.Attempt == 1
	}
	if s.Attempt > 1 {
		return c.MessageID == o.RecordID || c.MessageID == s.Parent
	}
	// A first hop (a duplicate event, or the reconciler) joins no live
	// chain; it takes over one whose message is overdue.
	return o.Now.After(c.Due.Add(StaleAfter(p, s.HeartbeatTimeout())))
}

// StaleAfter is how long past its due time a chain's message may be before
// a first hop takes the drain over: the operator's setting, but at most a
// quarter of the heartbeat timeout. A chain's hops keep the time from the
// last heartbeat to the next due hop under half the timeout, so taking over
// a quarter later still leaves time to heartbeat before Auto Scaling gives
// up on the action. Taking over a chain that was only slow costs a fork,
// which the next round of hops resolves.
func StaleAfter(p Policy, heartbeatTimeout time.Duration) time.Duration {
	return min(p.StaleAfter, heartbeatTimeout/4)
}
